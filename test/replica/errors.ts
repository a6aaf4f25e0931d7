// The replica's error: one of the package's one error shape (ShmHostError,
// issue 10), with its own code, key and retryability; and the one-line
// forms the host logs.
import t from 'tap';
import { ShmHostError } from '../../src/errors.js';
import { ReplicaError, isReplicaError } from '../../src/replica/index.js';
import { failureKind, failureLine } from '../../src/replica/errors.js';
import { explain } from '../../src/cli/errors.js';

t.test('a ReplicaError is a ShmHostError: code, problem, cause as fields', async (t) => {
  const cause = new Error('socket hang up');
  const err = new ReplicaError('UNREACHABLE', 'replica s3://b/p: the endpoint does not answer', { key: 'p/gen-1.img', cause });
  t.ok(err instanceof ShmHostError, 'one base class for every error a user can meet');
  t.equal(err.name, 'ReplicaError');
  t.equal(err.code, 'UNREACHABLE');
  t.equal(err.problem, 'replica s3://b/p: the endpoint does not answer');
  t.equal(err.message, err.problem, 'no hint: the message is the problem');
  t.equal(err.cause, cause);
  t.equal(err.key, 'p/gen-1.img');
  t.equal(err.retryable, true, 'UNREACHABLE is worth retrying');
  t.equal(new ReplicaError('LEASE', 'x').retryable, false);
  t.equal(new ReplicaError('IO', 'x', { retryable: false }).retryable, false, 'an explicit retryable wins');
  t.ok(isReplicaError(err) && isReplicaError(err, 'UNREACHABLE') && !isReplicaError(err, 'LEASE') && !isReplicaError(new Error('x')));
});

t.test('printed as one line by the command line, never as an internal error', async (t) => {
  const explained = explain(new ReplicaError('ACCESS', 'replica s3://b/p: access denied: check the credentials'));
  t.same(explained, { exitCode: 1, code: 'ACCESS', line: 'replica s3://b/p: access denied: check the credentials', expected: true });
});

t.test('failureLine and failureKind: the line the host logs, and the same problem whatever object it met', async (t) => {
  const a = new ReplicaError('UNREACHABLE', 'cannot upload p/gen-1.img: down', { key: 'p/gen-1.img' });
  const b = new ReplicaError('UNREACHABLE', 'cannot upload p/gen-2.img: down', { key: 'p/gen-2.img' });
  t.equal(failureLine(a, 's3://b/p'), a.message);
  t.equal(failureLine(new Error('boom\nstack'), 's3://b/p'), 'replica s3://b/p: Error: boom');
  t.equal(failureKind(a, 's3://b/p'), failureKind(b, 's3://b/p'), 'the key left out');
  t.not(failureKind(a, 's3://b/p'), failureKind(new ReplicaError('ACCESS', 'cannot upload p/gen-1.img: down', { key: 'p/gen-1.img' }), 's3://b/p'), 'the code kept');
});
