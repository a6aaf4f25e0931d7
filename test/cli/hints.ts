import t from 'tap';
import { ShmHostError } from '../../src/errors.js';
import { ControlError } from '../../src/host/control/index.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryLockedError, RESTORE_MARKER, SnapshotStore, StoreError, storeIoError } from '../../src/store/index.js';
import { cliHint, flagName } from '../../src/cli/hints.js';
import { replicaFailure } from '../../src/cli/replica-options.js';
import { ReplicaError, failureLine } from '../../src/replica/index.js';
import { s3Failure } from '../../src/replica/s3-errors.js';

t.test('library hints name no flag; the command line adds the one for the option', async (t) => {
  const locked = new DirectoryLockedError('/srv/state', 42);
  t.equal(locked.hint, 'stop it or use another snapshot directory');
  t.notMatch(locked.message, /--/);
  t.equal(cliHint(locked), 'stop it or use another snapshot directory: --dir');
  const full = storeIoError('write snapshot image', '/srv/state/x', Object.assign(new Error('no space'), { code: 'ENOSPC' }));
  t.notMatch(full.message, /--/);
  t.equal(cliHint(full), 'free some space or use another snapshot directory: --dir');
});

t.test('a hint about no option, or no hint, passes through', async (t) => {
  t.equal(cliHint(new ShmHostError('X', 'something', { hint: 'do this' })), 'do this');
  t.equal(cliHint(new ShmHostError('X', 'something', { hint: 'do this', option: 'unknown' })), 'do this');
  t.equal(cliHint(new ShmHostError('X', 'something')), undefined);
});

t.test('no host on a directory: the command that starts one', async (t) => {
  const err = new ControlError('NO_HOST', 'no shm-host is running on /srv/state', { path: '/srv/state/control.sock', hint: 'start a host on that directory', option: 'dir' });
  t.equal(cliHint(err), 'start one with shm-host --dir /srv/state -- <command>');
});

/** The StoreError SnapshotStore.open() rejects with on `dir`. */
async function openError(dir: string, options: Parameters<typeof SnapshotStore.open>[1] = {}): Promise<StoreError> {
  const err: unknown = await SnapshotStore.open(dir, options).then(async (s) => { await s.close(); return null; }, (e: unknown) => e);
  if (!(err instanceof StoreError)) throw new Error(`expected a StoreError, got ${String(err)}`);
  return err;
}

t.test('the store\'s other hints name no flag either: chain limits, an interrupted restore', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'shm-host-hints-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));

  const chain = await openError(join(base, 'chain'), { chain: { maxChain: 2000 } });
  t.equal(chain.code, 'BAD_OPTION');
  t.notMatch(chain.message, /--/, `library: ${chain.message}`);
  t.match(cliHint(chain), /--max-chain.*--max-chain-ratio/, 'the command line names both flags');

  const dir = join(base, 'restoring');
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, RESTORE_MARKER), 'restoring\n');
  const restoring = await openError(dir);
  t.equal(restoring.code, 'INTERRUPTED_RESTORE');
  t.notMatch(restoring.message, /--|shm-host restore/, `library: ${restoring.message}`);
  t.match(restoring.hint, `remove ${join(dir, RESTORE_MARKER)} to use what it holds`);
  t.equal(cliHint(restoring), `${restoring.hint}: shm-host restore --from URL --dir ${dir} (or a host with --replica URL)`);
});

t.test('no generation restores: the library says so in words, the command line adds the command that verifies that directory', async (t) => {
  const err = new ShmHostError('NO_USABLE_GENERATION', 'no generation in /srv/state can be restored (2 found, none of which verifies)', {
    hint: 'move the directory aside to start empty, or verify every generation in it', path: '/srv/state', option: 'dir',
  });
  t.equal(cliHint(err), 'move the directory aside to start empty, or verify every generation in it: shm-host verify --all --dir /srv/state');
});

t.test('the replica\'s hints name no flag: region, endpoint, lease; the command line adds --replica-*', async (t) => {
  const region = s3Failure(new Error('Region is missing'), 's3://b/p', 'list', '');
  const endpoint = s3Failure(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 's3://b/p', 'list', '');
  t.match(region, { code: 'BAD_URL', option: 'replica.region', hint: /AWS_REGION/ });
  t.match(endpoint, { code: 'UNREACHABLE', option: 'replica.endpoint' });
  for (const e of [region, endpoint]) t.notMatch(e.message, /--[a-z]/, `library: ${e.message}`);
  t.equal(cliHint(region), `${region.hint}: --replica-region`);
  t.equal(cliHint(endpoint), `${endpoint.hint}: --replica-endpoint`);
  // What a command prints for it (list --replica, restore --from, run --replica): the flag too.
  t.match(replicaFailure(endpoint), { code: 'REPLICA_UNREACHABLE', hint: `${endpoint.hint}: --replica-endpoint` });
  const lease = new ReplicaError('LEASE', 'replica s3://b/p is written by host h', { hint: 'take its lease over', option: 'replica.takeover' });
  t.equal(cliHint(lease), 'take its lease over: --replica-takeover');
  t.equal(failureLine(lease, 's3://b/p'), 'replica s3://b/p is written by host h: take its lease over: replica.takeover', 'a host log line: the option by its name');
  t.equal(failureLine(lease, 's3://b/p', flagName), 'replica s3://b/p is written by host h: take its lease over: --replica-takeover', 'the CLI\'s host: its flag');
});

t.test('flagName: the flag of every option the host\'s log lines name, else the option itself', async (t) => {
  t.same(['stopTimeoutMs', 'restart.mode', 'restart.maxRestarts', 'restart.windowMs', 'replica', 'replica.takeover', 'size'].map(flagName),
    ['--stop-timeout', '--restart', '--max-restarts', '--restart-window', '--replica', '--replica-takeover', '--size']);
  t.equal(flagName('somethingElse'), 'somethingElse');
});
