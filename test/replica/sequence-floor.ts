// A host whose replica is down at start, on a directory that is behind the
// replica, must never give a new generation a number the replica already
// gives another: it numbers above the sequence floor (the replica's highest
// sequence as last seen, kept in the directory), and once the replica
// answers, a local generation the replica holds another generation of the
// same number for is never counted as replicated nor uploaded over it; the
// next generation is a full one, numbered above the replica's, and ships.
// Real hosts on a directory replica; its outage is its root turned into a
// file (every request fails with ENOTDIR) and back.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileReplicaClient, listRemote } from '../../src/replica/index.js';
import { fixture, nthMatch, scratch, storedSequences, until, type HostProcess } from '../host/harness.js';
import { runBin } from '../cli/harness.js';

type Work = ReturnType<typeof scratch>;

/** The replica's complete generations: sequence -> who wrote it, when, on what parent. */
async function remote(root: string): Promise<Map<number, { host: string; created: string; parent: number | null }>> {
  const client = new FileReplicaClient(root);
  try {
    const { generations } = await listRemote(client);
    return new Map([...generations].map(([s, g]) => [s, { host: g.host, created: g.created, parent: g.parent }]));
  } finally {
    client.close();
  }
}

/** A host on `dir` with the counter child; `--keep` high enough that no generation of the test is deleted locally. */
function host(work: Work, dir: string, url: string): HostProcess {
  return work.start(['--dir', dir, '--size', '64K', '--interval', '100ms', '--keep', '100', '--replica', url, '--', process.execPath, fixture('replica-counter.js'), join(work.dir, `${dir.split('/').at(-1)}.log`), '50']);
}

/** Runs a host on `dir` until the replica holds `more` generations more than it did, then stops it. */
async function runUntilReplicated(t: Test, work: Work, dir: string, root: string, more: number): Promise<void> {
  const before = (await remote(root)).size;
  const h = host(work, dir, pathToFileURL(root).href);
  await until(`${more} more generations on the replica`, async () => (await remote(root)).size >= before + more, 30_000);
  h.child.kill('SIGTERM');
  t.equal((await h.exited).code, 0, 'the host stopped cleanly');
}

/** The replica cannot be reached until the returned function is called. */
function outage(root: string): () => void {
  renameSync(root, `${root}.away`);
  writeFileSync(root, 'not a directory\n');
  return () => {
    unlinkSync(root);
    renameSync(`${root}.away`, root);
  };
}

t.test('started while the replica is down, a host numbers above the floor a restore recorded, and ships them once it answers', async (t) => {
  const work = scratch(t);
  const root = join(work.dir, 'replica');
  const url = pathToFileURL(root).href;
  await runUntilReplicated(t, work, join(work.dir, 'a'), root, 4);
  const held = await remote(root);
  const highest = Math.max(...held.keys());

  // An older generation restored: the replica's newer numbers are recorded in the directory.
  const b = join(work.dir, 'b');
  const restored = await runBin(['restore', '--from', url, '--dir', b, '--sequence', '1']);
  t.equal(restored.code, 0, restored.stderr);
  const floor = join(b, 'sequence-floor');
  t.equal(existsSync(floor) ? readFileSync(floor, 'utf8') : null, `${highest}\n`, 'the restore recorded the replica\'s highest sequence');

  const back = outage(root);
  const h = host(work, b, url);
  await nthMatch(h.stderr, /replica .* (cannot|failed|does not)/, 1);
  const fresh = await until('two new generations in the directory', async () => {
    const s = (await storedSequences(b)).filter((n) => n !== 1);
    return s.length >= 2 ? s : undefined;
  }, 20_000);
  t.ok(fresh.every((s) => s > highest), `new generations ${fresh.join(', ')} number above ${highest}, the replica's highest`);

  back();
  await until('a generation of this host on the replica', async () => [...(await remote(root)).entries()].some(([s, g]) => s > highest && g.host.endsWith(b)), 30_000);
  // The replica's retention may have deleted some of the first host's by now (this one shipped its backlog): none was overwritten.
  const after = await remote(root);
  for (const [s, g] of after) if (s <= highest) t.same(g, held.get(s), `generation ${s} on the replica is still the first host's`);
});

t.test('a directory behind its replica: a generation of the same number is not uploaded over the replica\'s; the next, full, ships', async (t) => {
  const work = scratch(t);
  const root = join(work.dir, 'replica');
  const url = pathToFileURL(root).href;
  const a = join(work.dir, 'a');
  await runUntilReplicated(t, work, a, root, 3);
  // A copy of the directory now; the first host goes on writing the replica after it.
  const c = join(work.dir, 'c');
  execFileSync('cp', ['-a', a, c]);
  rmSync(join(c, 'sequence-floor'), { force: true });
  const copied = Math.max(...await storedSequences(c));
  await runUntilReplicated(t, work, a, root, 3);
  const held = await remote(root);
  const highest = Math.max(...held.keys());
  t.ok(highest >= copied + 2, `the replica (up to ${highest}) is ahead of the copy (up to ${copied})`);

  const back = outage(root);
  const h = host(work, c, url);
  await until('generations numbered as the replica\'s are, in the copy', async () => Math.max(...await storedSequences(c)) >= copied + 2, 20_000);
  back();
  const diverged = await nthMatch(h.stderr, /generation (\d+) is not replicated: the replica holds another generation \d+ \(written by [^)]*\/a at /, 1, 30_000);
  t.ok(Number(diverged[1]) > copied && Number(diverged[1]) <= highest, `said in one line: ${diverged[0]}`);
  const shipped = await until('a generation of the copy on the replica', async () => {
    const mine = [...(await remote(root)).entries()].filter(([, g]) => g.host.endsWith(c));
    return mine.length > 0 ? mine : undefined;
  }, 30_000);
  const [first, record] = shipped.sort((x, y) => x[0] - y[0])[0]!;
  t.ok(first > highest, `the copy's first generation on the replica is ${first}, above ${highest}`);
  t.equal(record.parent, null, 'a full generation: it builds on nothing the replica holds of another history');
  const after = await remote(root);
  // The replica's retention (8 kept) may have deleted the oldest since: deleted, never replaced.
  for (const [s, g] of held) if (after.has(s)) t.same(after.get(s), g, `generation ${s} on the replica is still the first host's`);
  h.child.kill('SIGTERM');
  await h.exited;

  const d = join(work.dir, 'd');
  const r = await runBin(['restore', '--from', url, '--dir', d, '--json']);
  t.equal(r.code, 0, r.stderr);
  t.ok((JSON.parse(r.out) as { sequence: number }).sequence > highest, 'the replica restores the copy\'s newest generation, whole');
  t.ok(existsSync(join(d, 'lock')));
});
