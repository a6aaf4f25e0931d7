// `shm-host run --replica s3://...` through faults, with real host processes
// on a real Ceph RADOS Gateway: a corrupted object met by the restore of an
// empty directory, and the gateway killed in the middle of an upload. The
// corruption runs on the shared gateway (scripts/s3/up.sh); the kill on a
// private cluster, as gateway-fault.ts does, so it disturbs no other test.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BIN, fixture, scratch, storedSequences } from '../host/harness.js';
import { adminS3, freshBucket, hasCeph, privateCluster, replicaCounterLog, s3Gateway, waitFor } from './helpers.js';

const gateway = await s3Gateway();
const endpointArgs = (endpoint: string): string[] => ['--replica-endpoint', endpoint, '--replica-path-style'];
const counter = (log: string, rate = '200', fill = '0'): string[] => ['--', process.execPath, fixture('replica-counter.js'), log, rate, fill];
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

interface Row { sequence: number; ok: boolean; parent: number | null; offset: string | null; host: string; objects: string[] }
const remoteRows = (url: string, endpoint: string): Row[] => {
  const listed = cli('list', '--replica', url, ...endpointArgs(endpoint), '--json');
  if (listed.status !== 0) throw new Error(`list --replica failed: ${listed.stderr}`);
  return (JSON.parse(listed.stdout) as { generations: Row[] }).generations;
};
const key16 = (sequence: number): string => String(sequence).padStart(16, '0');

t.test('a corrupted object: the host on an empty directory restores an older generation and says which and why', { skip: 'skip' in gateway ? gateway.skip : false }, async (t) => {
  const { endpoint } = gateway as { endpoint: string };
  const bucket = await freshBucket(t, endpoint, 'corrupt');
  const url = `s3://${bucket}/svc`;
  const work = scratch(t);
  const log = join(work.dir, 'child.log');
  // Deltas on: the generation after a restore must not be taken for the corrupt one, nor built on it.
  const run = (dir: string) => work.start(['--dir', join(work.dir, dir), '--size', '64K', '--interval', '100ms', '--max-chain', '4', '--replica', url, ...endpointArgs(endpoint), ...counter(log)]);
  const first = run('a');
  await first.stdout.waitFor(/resumed at 0/, 20_000);
  await waitFor(() => replicaCounterLog(log).replicated.filter((r) => r > 0n).length >= 3, 30_000, 'three generations replicated');
  first.child.kill('SIGTERM');
  t.equal((await first.exited).code, 0, 'the first host stops cleanly');

  const rows = remoteRows(url, endpoint);
  const newest = rows[0]!;
  const image = newest.objects.find((name) => !name.endsWith('.json'))!;
  const admin = adminS3(endpoint);
  t.teardown(() => admin.destroy());
  const key = `svc/generations/${key16(newest.sequence)}/${image}`;
  const body = Buffer.from(await (await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
  body[body.length >> 1]! ^= 0xff; // one byte flipped, the size unchanged: only a digest tells
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

  const second = run('b');
  const passed = await second.stderr.waitFor(new RegExp(`replica generation ${newest.sequence} passed over: .*${image} is corrupt`), 30_000);
  t.ok(passed, `it says which generation it passed over and why: ${passed[0]}`);
  const restored = await second.stderr.waitFor(/restored generation (\d+) .*from replica/, 30_000);
  const older = Number(restored[1]);
  t.ok(older < newest.sequence, `and which older generation it restored: ${restored[0]}`);
  t.equal(remoteRows(url, endpoint).find((r) => r.sequence === older)?.ok, true, 'one complete on the replica');
  const resumed = Number((await second.stdout.waitFor(/resumed at (\d+)/, 20_000))[1]);
  t.ok(resumed > 0, `the child resumed at ${resumed}`);

  // The new history goes on from the older generation: the replica must take its generations as new ones.
  const seen = replicaCounterLog(log).commits.length;
  await waitFor(() => replicaCounterLog(log).commits.length >= seen + 100, 20_000, 'the child to commit 100 more');
  second.child.kill('SIGTERM');
  t.equal((await second.exited).code, 0, 'the second host stops cleanly');
  const local = Math.max(...(await storedSequences(join(work.dir, 'b'))));
  const after = remoteRows(url, endpoint);
  const byB = after.filter((r) => r.host.endsWith(join(work.dir, 'b')));
  t.ok(byB.length >= 2, `the second host replicated ${byB.length} generations`);
  t.same(byB.filter((r) => r.sequence <= newest.sequence).map((r) => r.sequence), [], `the second host numbered its generations after every one on the replica (${newest.sequence}): ${byB.map((r) => r.sequence).join(', ')}`);
  t.ok(after.every((r) => r.parent === null || r.parent <= older || byB.some((p) => p.sequence === r.parent)), 'no generation of the new history depends on one of the old history past the restored one');
  t.equal(after[0]!.sequence, local, 'the replica\'s newest generation is the second host\'s last');
  const target = join(work.dir, 'restored');
  const again = cli('restore', '--from', url, ...endpointArgs(endpoint), '--dir', target, '--json');
  t.equal(again.status, 0, `restore --from exits 0 ${again.stderr}`);
  t.equal((JSON.parse(again.stdout) as { sequence: number }).sequence, local, 'and restores it');
  const lastValue = replicaCounterLog(log).commits.at(-1)!.value;
  const third = work.start(['--dir', target, '--size', '64K', ...counter(join(work.dir, 'third.log'))]);
  const final = Number((await third.stdout.waitFor(/resumed at (\d+)/, 20_000))[1]);
  t.equal(final, lastValue, `a child on it resumes at the second child's last record (${lastValue})`);
  third.child.kill('SIGTERM');
  await third.exited;
});

t.test('the gateway killed in the middle of an upload: nothing partial visible, the child runs on, the upload resumes', { skip: hasCeph() ? false : 'Ceph is not installed: run scripts/s3/install.sh as root' }, async (t) => {
  const { endpoint, script, ceph } = await privateCluster(t);
  const admin = adminS3(endpoint);
  t.teardown(() => admin.destroy());
  await admin.send(new CreateBucketCommand({ Bucket: 'killed' }));
  const url = 's3://killed/svc';
  const work = scratch(t);
  const dir = join(work.dir, 'state');
  const log = join(work.dir, 'child.log');
  // 256 MiB full generations (--max-chain 0), 250 MiB of them written by the child (holes would
  // go up as nothing): 32 parts, an upload long enough to cut.
  // --stop-timeout: the shutdown capture has time to reach the replica.
  const host = work.start(['--dir', dir, '--size', '256M', '--interval', '2s', '--max-chain', '0', '--stop-timeout', '60s', '--replica', url, '--replica-keep', '8', ...endpointArgs(endpoint), ...counter(log, '100', String(250 << 20))], { ...process.env, AWS_REGION: 'us-east-1' });
  await host.stdout.waitFor(/resumed at 0/, 20_000);
  const first = Number((await host.stderr.waitFor(/replicated generation (\d+)/, 60_000))[1]);

  // The next upload, with at least one part on the server and its record not yet written.
  let cut: { key: string; sequence: number } | undefined;
  await waitFor(async () => {
    for (const u of (await admin.send(new ListMultipartUploadsCommand({ Bucket: 'killed' }))).Uploads ?? []) {
      const parts = await admin.send(new ListPartsCommand({ Bucket: 'killed', Key: u.Key!, UploadId: u.UploadId! })).catch(() => ({ Parts: [] }));
      const m = /generations\/(\d{16})\//.exec(u.Key!);
      if ((parts.Parts?.length ?? 0) >= 1 && m !== null && Number(m[1]) > first) cut = { key: u.Key!, sequence: Number(m[1]) };
    }
    return cut !== undefined;
  }, 60_000, 'a multipart upload with a part on the server');
  script('gateway.sh', 'stop');
  const { sequence } = cut!;

  // The gateway is down; RADOS shows what it holds: the interrupted generation's parts, and no record.
  const raw = JSON.parse(ceph('radosgw-admin', 'bucket', 'list', '--bucket=killed', '--max-entries=10000')) as Array<{ name: string }>;
  const names = raw.map((e) => e.name);
  t.notOk(names.includes(`svc/generations/${key16(sequence)}.json`), `generation ${sequence} has no record while its upload is cut`);
  t.ok(raw.some((e) => e.name.startsWith(`_multipart_svc/generations/${key16(sequence)}/`)), 'its multipart upload is left half done on the server');
  const down = await host.stderr.waitFor(/error: .*does not answer/, 30_000);
  t.ok(down, `one line says the replica is down: ${down[0]}`);
  const before = replicaCounterLog(log).commits.length;
  await waitFor(() => replicaCounterLog(log).commits.length >= before + 100, 20_000, 'the child to commit 100 more while the gateway is down');
  const seenDown = replicaCounterLog(log).replicated.at(-1)!;

  script('gateway.sh', 'start');
  // What a reader sees as soon as the gateway answers: complete generations only.
  const visible = remoteRows(url, endpoint);
  t.ok(visible.some((r) => r.sequence === first), `generation ${first}, replicated before the cut, is listed`);
  t.ok(visible.every((row) => row.ok), `every generation listed is complete: ${visible.map((r) => r.sequence).join(', ')}`);
  // The newest (retention keeps 8: the host does not delete it under the restore).
  const check = cli('restore', '--from', url, ...endpointArgs(endpoint), '--dir', join(work.dir, 'check'), '--sequence', String(visible[0]!.sequence));
  t.equal(check.status, 0, `generation ${visible[0]!.sequence} restores and verifies ${check.stderr}`);
  const back = await host.stderr.waitFor(/replicated generation (\d+) .*answers again/, 120_000);
  t.ok(Number(back[1]) >= sequence, `uploads resumed: ${back[0]}`);
  await waitFor(() => replicaCounterLog(log).replicated.at(-1)! > seenDown, 30_000, 'the child to see replicated_offset move past what it was while the gateway was down');
  await waitFor(async () => ((await admin.send(new ListMultipartUploadsCommand({ Bucket: 'killed' }))).Uploads ?? []).every((u) => u.Key === undefined || !u.Key.includes(`generations/${key16(sequence)}/`) || Number(back[1]) === sequence), 30_000, 'the interrupted upload to be finished or abandoned');
  t.equal(host.stderr.lines.filter((l) => /error:/.test(l)).length, 1, `one error line for the outage: ${host.stderr.lines.filter((l) => /error:/.test(l)).join(' | ')}`);
  host.child.kill('SIGTERM');
  t.equal((await host.exited).code, 0, 'the host stops cleanly');
  const target = join(work.dir, 'restored');
  const restored = cli('restore', '--from', url, ...endpointArgs(endpoint), '--dir', target, '--json');
  t.equal(restored.status, 0, `restore --from exits 0 ${restored.stderr}`);
  const local = Math.max(...(await storedSequences(dir)));
  t.equal((JSON.parse(restored.stdout) as { sequence: number }).sequence, local, 'the replica caught up with the last local generation');
  t.ok(readFileSync(join(target, `gen-${key16(local)}.img`)).equals(readFileSync(join(dir, `gen-${key16(local)}.img`))), 'byte for byte');
});
