// `shm-host run --replica s3://...` against a real Ceph RADOS Gateway: the
// machine lost and the service moved, a second host refused, wrong
// credentials, the gateway down when the host starts. The shared gateway
// comes from the environment (scripts/s3/up.sh); the gateway-down case runs
// a private cluster, as gateway-fault.ts does, so it disturbs no other test.
import t from 'tap';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { fixture, scratch, storedSequences, type HostProcess } from '../host/harness.js';
import { adminS3, freshBucket, hasCeph, machineLost, privateCluster, replicaCounterLog, s3Gateway, waitFor } from './helpers.js';

const gateway = await s3Gateway();
const skip = 'skip' in gateway ? gateway.skip : false;
const endpointArgs = (endpoint: string): string[] => ['--replica-endpoint', endpoint, '--replica-path-style'];

/** A first host without a replica, stopped after its first capture: a directory with local state. */
async function localState(work: ReturnType<typeof scratch>, dir: string, log: string): Promise<void> {
  const host = work.start(['--dir', dir, '--size', '64K', '--', process.execPath, fixture('replica-counter.js'), log, '200']);
  await host.stdout.waitFor(/resumed at 0/, 20_000);
  await waitFor(() => replicaCounterLog(log).commits.length >= 20, 20_000, '20 commits');
  host.child.kill('SIGTERM');
  await host.exited;
}

const counter = (log: string): string[] => ['--', process.execPath, fixture('replica-counter.js'), log, '200'];
const errorLines = (host: HostProcess): string[] => host.stderr.lines.filter((l) => /error:/.test(l));

t.test('the machine is lost: a new host in a new directory resumes from S3', { skip }, async (t) => {
  const { endpoint } = gateway as { endpoint: string };
  const bucket = await freshBucket(t, endpoint, 'moved');
  await machineLost(t, scratch(t), ['--replica', `s3://${bucket}/svc`, ...endpointArgs(endpoint)]);
});

t.test('a second host on the same prefix is refused; another prefix is not', { skip }, async (t) => {
  const { endpoint } = gateway as { endpoint: string };
  const bucket = await freshBucket(t, endpoint, 'second');
  const work = scratch(t);
  const args = (dir: string, prefix: string, log: string) => ['--dir', join(work.dir, dir), '--size', '64K', '--replica', `s3://${bucket}/${prefix}`, ...endpointArgs(endpoint), ...counter(join(work.dir, log))];
  const first = work.start(args('a', 'svc', 'a.log'));
  await first.stdout.waitFor(/resumed at 0/, 20_000);
  const second = work.start(args('b', 'svc', 'b.log'));
  t.equal((await second.exited).code, 1, 'the second host exits 1');
  t.equal(second.stderr.lines.length, 1, `in one line: ${second.stderr.lines.join(' | ')}`);
  t.match(second.stderr.lines[0], /is written by host .*take its lease over: --replica-takeover\)$/);
  const other = work.start(args('c', 'other', 'c.log'));
  await other.stdout.waitFor(/resumed at 0/, 20_000);
  t.pass('a host on another prefix of the same bucket runs');
});

t.test('wrong credentials: one line, the child keeps running, local snapshots go on', { skip }, async (t) => {
  const { endpoint } = gateway as { endpoint: string };
  const bucket = await freshBucket(t, endpoint, 'creds');
  const work = scratch(t);
  const dir = join(work.dir, 'state');
  const log = join(work.dir, 'child.log');
  await localState(work, dir, log);
  const env = { ...process.env, AWS_SECRET_ACCESS_KEY: 'not-the-secret' };
  const host = work.start(['--dir', dir, '--size', '64K', '--interval', '100ms', '--replica', `s3://${bucket}/svc`, ...endpointArgs(endpoint), ...counter(log)], env);
  await host.stdout.waitFor(/resumed at [1-9]/, 20_000);
  const before = replicaCounterLog(log).commits.length;
  const generations = Math.max(...(await storedSequences(dir)));
  await waitFor(() => replicaCounterLog(log).commits.length >= before + 200, 20_000, 'the child to commit 200 more');
  await waitFor(async () => Math.max(...(await storedSequences(dir))) >= generations + 3, 20_000, 'three more local generations');
  const errors = errorLines(host);
  t.equal(errors.length, 1, `one error line: ${errors.join(' | ')}`);
  t.match(errors[0], /(credentials|access|denied|signature)/i, 'it names the credentials');
  t.notMatch(host.stderr.lines.join('\n'), /not-the-secret/, 'the secret is never logged');
  t.equal(replicaCounterLog(log).replicated.filter((r) => r > 0n).length, 0, 'nothing reported replicated');
  const empty = work.start(['--dir', join(work.dir, 'empty'), '--size', '64K', '--replica', `s3://${bucket}/svc`, ...endpointArgs(endpoint), ...counter(join(work.dir, 'other.log'))], env);
  t.equal((await empty.exited).code, 1, 'an empty --dir cannot be restored: the host refuses to start over an unreadable replica');
  t.equal(empty.stderr.lines.length, 1, `in one line: ${empty.stderr.lines.join(' | ')}`);
  t.match(empty.stderr.lines[0], /is empty and replica .* cannot be read .*start without one: --replica\)$/, 'it says why and the way out');
});



t.test('the gateway down when the host starts: it runs, and the replica catches up when the gateway returns', { skip: hasCeph() ? false : 'Ceph is not installed: run scripts/s3/install.sh as root' }, async (t) => {
  const { endpoint, script } = await privateCluster(t);
  const hostEnv = { ...process.env, AWS_REGION: 'us-east-1' };
  const admin = adminS3(endpoint);
  await admin.send(new CreateBucketCommand({ Bucket: 'down' }));
  admin.destroy();

  const work = scratch(t);
  const dir = join(work.dir, 'state');
  const log = join(work.dir, 'child.log');
  await localState(work, dir, log);
  script('gateway.sh', 'stop');
  const host = work.start(['--dir', dir, '--size', '64K', '--interval', '100ms', '--replica', 's3://down/svc', ...endpointArgs(endpoint), ...counter(log)], hostEnv);
  await host.stdout.waitFor(/resumed at [1-9]/, 20_000);
  const down = await host.stderr.waitFor(/error: .*does not answer/, 20_000);
  t.ok(down, `one line says the replica is down: ${down[0]}`);
  t.match(host.stderr.lines.find((l) => /does not answer/.test(l)), /does not answer .*: --replica-endpoint \(local snapshots go on/, 'the host\'s line names the flag to check (the library: replica.endpoint)');
  const before = replicaCounterLog(log).commits.length;
  await waitFor(() => replicaCounterLog(log).commits.length >= before + 100, 20_000, 'the child to commit 100 more while the gateway is down');
  script('gateway.sh', 'start');
  await host.stderr.waitFor(/replicated generation \d+ .*answers again/, 60_000);
  await waitFor(() => replicaCounterLog(log).replicated.some((r) => r > 0n), 30_000, 'the child to see replicated_offset move');
  t.equal(errorLines(host).length, 1, `one error line while it was down: ${errorLines(host).join(' | ')}`);
});
