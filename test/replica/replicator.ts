// The replicator above the interface, on the directory backend: ordering,
// backlog, retention, lease, restore and its fallback. The S3 backend gets
// the same through replicator-s3.ts and gateway-fault.ts.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FileReplicaClient, ReplicaError, Replicator, listRemote, remoteRows, restoreFromReplica, type PutOptions, type PutResult, type PutSource, type ReplicaClient, type ReplicaEvent,
} from '../../src/replica/index.js';
import { localGeneration, scratchDir, waitFor } from './helpers.js';

/** The file backend, with every put recorded and, while `gate` is set, held until it resolves. */
class Watched extends FileReplicaClient {
  puts: string[] = [];
  gate: Promise<void> | null = null;
  /** Puts of keys ending so fail, as a server that went away would (retryable). */
  failing: string | null = null;
  override async put(key: string, source: PutSource, options?: PutOptions): Promise<PutResult> {
    if (this.gate !== null) await this.gate;
    if (this.failing !== null && key.endsWith(this.failing)) throw new ReplicaError('UNREACHABLE', `replica ${this.url}: unreachable for ${key}`);
    this.puts.push(key);
    return super.put(key, source, options);
  }
}

type Options = Partial<ConstructorParameters<typeof Replicator>[0]>;

function replicator(client: ReplicaClient, host: string, extra: Options = {}): { r: Replicator; events: ReplicaEvent[] } {
  const events: ReplicaEvent[] = [];
  const r = new Replicator({ client, identity: { host }, backoff: { firstMs: 20, maxMs: 200 }, onEvent: (e) => events.push(e), ...extra });
  return { r, events };
}

/** A started replicator on a new replica directory (through `Client`), and a local directory for generations. */
async function started<C extends FileReplicaClient>(t: Test, extra: Options = {}, Client: new (root: string) => C = FileReplicaClient as new (root: string) => C) {
  const root = join(scratchDir(t, 'remote'), 'rep');
  const client = new Client(root);
  const { r, events } = replicator(client, 'h1', extra);
  t.teardown(() => r.close());
  await r.start();
  return { local: scratchDir(t, 'local'), root, client, r, events };
}

t.test('files, then the manifest, then the record; restore gives the same bytes', async (t) => {
  const { local, client, r, events } = await started(t, {}, Watched);
  const g = localGeneration(local, 7, 300_000);
  const before = Date.now();
  r.offer(g);
  t.ok(Date.now() - before < 50, 'offer returns at once');
  await r.idle();
  const keys = client.puts.filter((k) => k !== 'lease.json');
  t.same(keys, ['generations/0000000000000007/gen-0000000000000007.img', 'generations/0000000000000007/gen-0000000000000007.json', 'generations/0000000000000007.json']);
  const s = r.status();
  t.match(s, { state: 'idle', lastReplicated: { sequence: 7, offset: '700' }, lagGenerations: 0, lagBytes: 0, remoteGenerations: 1, lastError: null });
  t.match(events.find((e) => e.kind === 'replicated'), { sequence: 7, offset: '700', bytes: 300_000 + g.manifest.bytes });

  const into = join(scratchDir(t, 'restore'), 'new', 'dir');
  const restored = await restoreFromReplica({ client, dir: into });
  t.equal(restored.generation.sequence, 7);
  t.same(readdirSync(into).sort(), [g.files[0]!.name, g.manifest.name, 'lock'], 'the generation, and the lock the restore held');
  t.ok(readFileSync(join(into, g.files[0]!.name)).equals(readFileSync(g.files[0]!.path)), 'image byte for byte');
  await t.rejects(restoreFromReplica({ client, dir: into }), { code: 'LOCAL', message: /is not empty .*: restore into an empty or new directory$/ });
});

t.test('a backlog keeps only the newest generation and the chain it needs', async (t) => {
  const { local, client, r, events } = await started(t, { retention: { keep: 100 } }, Watched);
  let release!: () => void;
  client.gate = new Promise((resolve) => { release = resolve; });
  r.offer(localGeneration(local, 1, 1000));
  await waitFor(() => r.status().uploading?.sequence === 1, 5000, 'the upload of generation 1');
  for (let s = 2; s <= 5; s++) r.offer(localGeneration(local, s, 1000)); // full generations: only 5 matters
  r.offer(localGeneration(local, 6, 500, 5)); // deltas on 5
  r.offer(localGeneration(local, 7, 500, 6));
  t.equal(r.status().lagGenerations, 7);
  t.ok(r.status().lagBytes > 0);
  client.gate = null;
  release();
  await r.idle();
  t.same([...r.remoteGenerations().keys()].sort((a, b) => a - b), [1, 5, 6, 7]);
  const skipped = events.filter((e) => e.kind === 'skipped').flatMap((e) => (e.kind === 'skipped' ? e.sequences : []));
  t.same(skipped.sort(), [2, 3, 4]);
  t.match(r.status(), { lastReplicated: { sequence: 7 }, lagGenerations: 0, lagBytes: 0 });
  t.same([...r.needed()], []);
});

t.test('what an interrupted upload left is deleted once a newer generation is complete', async (t) => {
  const { local, root, client, r, events } = await started(t, {}, Watched);
  client.failing = '0000000000000002.json'; // gen 2's manifest and record never get there
  r.offer(localGeneration(local, 2, 5000));
  await waitFor(() => events.filter((e) => e.kind === 'retry').length >= 2, 5000, 'retries of generation 2');
  t.ok(readdirSync(join(root, 'generations', '0000000000000002')).includes('gen-0000000000000002.img'), 'its image is there, alone');
  client.failing = null;
  r.offer(localGeneration(local, 3, 5000)); // supersedes 2, which is skipped
  await waitFor(() => r.status().lastReplicated?.sequence === 3 && r.status().state === 'idle', 5000, 'generation 3');
  t.same(readdirSync(join(root, 'generations')).sort(), ['0000000000000003', '0000000000000003.json'], 'no debris of 2 is left');
});

t.test('retention keeps N and every generation a kept one depends on, deleting only after a newer one is complete', async (t) => {
  const { local, root, r } = await started(t, { retention: { keep: 1 } });
  const ship = async (s: number, parent?: number) => {
    r.offer(localGeneration(local, s, 2000, parent));
    await r.idle();
  };
  const remote = () => [...r.remoteGenerations().keys()].sort((a, b) => a - b);
  await ship(1);
  await ship(2, 1);
  await ship(3, 2);
  t.same(remote(), [1, 2, 3], 'delta 3 needs 2 and 1');
  await ship(4);
  t.same(remote(), [4], 'a full 4 frees them');
  t.same(readdirSync(join(root, 'generations')).sort(), ['0000000000000004', '0000000000000004.json'], 'their objects are gone too');
});

t.test('one writer per prefix: a second host is refused, takeover stops the first, a dead holder is replaced', async (t) => {
  const root = join(scratchDir(t, 'remote'), 'rep');
  const a = replicator(new FileReplicaClient(root), 'host-a', { leaseTtlSeconds: 1.5 });
  t.teardown(() => a.r.close());
  await a.r.start();
  const b = replicator(new FileReplicaClient(root), 'host-b');
  // A library error names no command-line flag: the option, by supervise()'s name, is a field (the CLI adds --replica-takeover).
  await t.rejects(b.r.start(), { code: 'LEASE', option: 'replica.takeover', message: /^replica file:\/\/.* is written by host host-a \(pid \d+ on .*\): stop that host, use another replica prefix, or take its lease over$/ });
  t.equal(b.r.status().state, 'stopped');

  const c = replicator(new FileReplicaClient(root), 'host-c', { takeover: true });
  t.teardown(() => c.r.close());
  await c.r.start();
  t.match(c.events[0], { kind: 'lease', how: 'taken over from host host-a' });
  // host-a notices at its next renewal (every 0.5 s here) and stops.
  const deadline = Date.now() + 5000;
  while (a.r.status().state !== 'stopped' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  t.match(a.r.status(), { state: 'stopped', lastError: { message: /(host host-c .* took it over|the lease is gone); this host stopped replicating: to write again, restart this host taking the lease over: replica\.takeover$/ } });
  t.notMatch(a.r.status().lastError?.message, /--[a-z]/, 'no command-line flag in the library\'s line');
  await c.r.close();

  // A holder whose process is gone (this machine) does not block.
  const dead = spawnSync('true').pid as number;
  const d = replicator(new FileReplicaClient(root), 'host-d', { identity: { host: 'host-d', pid: dead } });
  await d.r.start();
  await d.r.close(); // releases: the lease object is deleted
  t.notOk(readdirSync(root).includes('lease.json'));
  writeFileSync(join(root, 'lease.json'), JSON.stringify({ host: 'host-x', pid: dead, hostname: (await import('node:os')).hostname(), acquired: new Date().toISOString(), renewed: new Date().toISOString(), ttlSeconds: 3600 }));
  const e = replicator(new FileReplicaClient(root), 'host-e');
  t.teardown(() => e.r.close());
  await e.r.start();
  t.match(e.events[0], { kind: 'lease', how: `its holder (pid ${dead} on this machine) is gone` });
});

t.test('a host that lost the lease writes no record and deletes nothing', async (t) => {
  const { local, root, r } = await started(t, { retention: { keep: 1 } }); // renews every 20 s: not during this test
  r.offer(localGeneration(local, 1, 1000));
  await r.idle();
  const c = replicator(new FileReplicaClient(root), 'host-c', { takeover: true, retention: { keep: 1 } });
  t.teardown(() => c.r.close());
  await c.r.start();
  c.r.offer(localGeneration(local, 5, 1000));
  await c.r.idle();
  r.offer(localGeneration(local, 2, 1000));
  await r.idle();
  t.match(r.status(), { state: 'stopped', lastError: { message: /host host-c .* took it over/ } });
  t.same(readdirSync(join(root, 'generations')).filter((n) => n.endsWith('.json')).sort(), ['0000000000000005.json'], 'no record of 2 (host-c pruned 1)');
});

t.test('restore falls back past a corrupt object and a missing one, and says so', async (t) => {
  const { local, root, client, r } = await started(t, { retention: { keep: 10 } });
  for (const s of [1, 2, 3]) {
    r.offer(localGeneration(local, s, 50_000));
    await r.idle();
  }
  const img = (s: number) => join(root, 'generations', String(s).padStart(16, '0'), `gen-${String(s).padStart(16, '0')}.img`);
  const bytes = readFileSync(img(3));
  bytes[12345] ^= 1;
  writeFileSync(img(3), bytes);
  rmSync(img(2));
  const told: string[] = [];
  const restored = await restoreFromReplica({ client, dir: scratchDir(t, 'restore'), onFallback: (s, reason) => told.push(`${s}: ${reason}`) });
  t.equal(restored.generation.sequence, 1);
  t.match(told, [/^3: replica .*object generations\/0000000000000003\/gen-0000000000000003.img is corrupt \(bytes whose digest differs from its record\)$/, /^2: .*does not exist/]);
  t.same(restored.fallbacks.map((f) => f.sequence), [3, 2]);
  rmSync(img(1));
  await t.rejects(restoreFromReplica({ client, dir: scratchDir(t, 'restore') }), { code: 'NOT_FOUND', message: /has no generation that verifies \(3 passed over; newest: .*corrupt/ });
});

t.test('a delta restores with its whole chain; a broken chain is passed over', async (t) => {
  const { local, root, client, r } = await started(t, { retention: { keep: 10 } });
  for (const [s, parent] of [[1, undefined], [2, 1], [3, 2], [4, undefined], [5, 4]] as const) {
    r.offer(localGeneration(local, s, 3000, parent));
    await r.idle();
  }
  const dir = scratchDir(t, 'restore');
  const restored = await restoreFromReplica({ client, dir, sequence: 3 });
  t.same(restored.chain, [3, 2, 1]);
  t.same(readdirSync(dir).sort(), [...[1, 2, 3].flatMap((s) => [`gen-${String(s).padStart(16, '0')}.img`, `gen-${String(s).padStart(16, '0')}.json`]), 'lock', 'sequence-floor']);
  t.equal(readFileSync(join(dir, 'sequence-floor'), 'utf8'), '5\n', 'the replica used numbers up to 5: a host started while it is down numbers above them');
  t.same((remoteRows(await listRemote(client))).map((row) => [row.sequence, row.ok && row.parent]), [[5, 4], [4, null], [3, 2], [2, 1], [1, null]], 'listed newest first, with parents');
  writeFileSync(join(root, 'generations', '0000000000000004.json'), '{"format":"shm-host-replica-generation/1"'); // 5's parent is damaged
  const told: string[] = [];
  const newest = await restoreFromReplica({ client, dir: scratchDir(t, 'restore'), onFallback: (s, why) => told.push(`${s}: ${why}`) });
  t.equal(newest.generation.sequence, 3);
  t.same(told, ['4: generation 4: its record is not JSON', '5: generation 5 needs generation 4, which is not on the replica'].reverse());
  t.match(remoteRows(await listRemote(client))[1], { sequence: 4, ok: false, problem: 'its record is not JSON' });
});

t.test('a local file that vanished skips its generation; the next one ships', async (t) => {
  const { local, r, events } = await started(t);
  const g = localGeneration(local, 1, 1000);
  rmSync(g.files[0]!.path);
  r.offer(g);
  await r.idle();
  t.match(events.find((e) => e.kind === 'skipped'), { sequences: [1], reason: /gen-0000000000000001.img cannot be read \(ENOENT\): it is not replicated; a newer generation will be/ });
  r.offer(localGeneration(local, 2, 1000));
  await r.idle();
  t.same([...r.remoteGenerations().keys()], [2]);
});
