// A replica's failure is a ShmHostError like every other error a user can
// meet: the command line prints it as one line, `shm-host: <problem>
// (<fix>)`, with its documented exit status and no stack trace, whichever
// command meets it (the real binary, on directory replicas and URLs that
// need no server).
import t, { type Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ShmHostError } from '../../src/errors.js';
import { ReplicaError, parseReplicaUrl } from '../../src/replica/index.js';
import { runBin } from '../cli/harness.js';
import { scratchDir } from './helpers.js';

/** The one line on stderr, checked to be a line of ours and no trace. */
function oneLine(t: Test, stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, `one line: ${JSON.stringify(stderr)}`);
  t.notMatch(stderr, /internal error|\n\s+at |Error:/, 'no internal error, no stack');
  return lines[0] ?? '';
}

t.test('ReplicaError is a ShmHostError: code, problem, hint, cause', async (t) => {
  const cause = new Error('ECONNREFUSED');
  const e = new ReplicaError('UNREACHABLE', 'replica s3://b/p: the endpoint does not answer', { hint: 'check --replica-endpoint', cause, key: 'k' });
  t.ok(e instanceof ShmHostError, 'instanceof ShmHostError');
  t.match(e, { name: 'ReplicaError', code: 'UNREACHABLE', problem: 'replica s3://b/p: the endpoint does not answer', hint: 'check --replica-endpoint', key: 'k', retryable: true });
  t.equal(e.message, 'replica s3://b/p: the endpoint does not answer: check --replica-endpoint', 'message: the problem, then the fix');
  t.equal(e.cause, cause);
  const url = (() => { try { parseReplicaUrl('s3://Bad_Bucket/x'); } catch (err) { return err; } return null; })();
  t.match(url, { code: 'BAD_URL', problem: /^replica URL "s3:\/\/Bad_Bucket\/x" has no valid bucket name/, hint: 'use s3://BUCKET/PREFIX or file:///absolute/path' });
});

t.test('a replica URL that cannot be used: one line with the fix, exit 2, in every command that takes one', async (t) => {
  const dir = join(scratchDir(t, 'url'), 'state');
  for (const argv of [['restore', '--from', 's3://Bad_Bucket/x', '--dir', dir], ['list', '--replica', 's3://Bad_Bucket/x'], ['--dir', dir, '--replica', 's3://Bad_Bucket/x', '--', 'true']]) {
    const r = await runBin(argv);
    t.equal(r.code, 2, `${argv[0]}: exit 2`);
    t.match(oneLine(t, r.stderr), /^shm-host: replica URL "s3:\/\/Bad_Bucket\/x" has no valid bucket name .* \(use s3:\/\/BUCKET\/PREFIX or file:\/\/\/absolute\/path\)$/, `${argv[0]}: the problem, then the fix`);
  }
  const json = await runBin(['restore', '--from', 's3://Bad_Bucket/x', '--dir', dir, '--json']);
  t.match(JSON.parse(json.out), { error: { code: 'REPLICA_BAD_URL', exitCode: 2 } }, '--json: the error document');
});

t.test('a replica that holds nothing to restore, or a directory in use: one line, exit 1', async (t) => {
  const root = scratchDir(t, 'empty');
  const url = pathToFileURL(join(root, 'replica')).href;
  const r = await runBin(['restore', '--from', url, '--dir', join(root, 'state')]);
  t.equal(r.code, 1);
  t.equal(oneLine(t, r.stderr), `shm-host: replica ${url} has no generation that verifies (check the URL, or restore from another replica)`);
  const used = join(root, 'used');
  mkdirSync(used, { mode: 0o700 });
  writeFileSync(join(used, 'notes.txt'), 'mine');
  const u = await runBin(['restore', '--from', url, '--dir', used, '--json']);
  t.equal(u.code, 1);
  t.equal(oneLine(t, u.stderr), `shm-host: ${used} is not empty (1 entries) (restore into an empty or new directory)`);
  t.match(JSON.parse(u.out), { error: { code: 'REPLICA_LOCAL', exitCode: 1 } });
});
