// What the commands that read a generation (show, cat, export) and a host
// starting on the directory say when a generation or a link of its chain is
// broken: which link and why, and a fix that holds: the newest older
// generation that verifies when there is one, else that none does. Real
// processes of the built CLI (dist/).
import fs from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { writeGenerations } from '../../fixtures/cli-store.js';
import { isOneLineError, runBin } from './harness.js';

const name = (sequence: number, ext: string): string => `gen-${String(sequence).padStart(16, '0')}.${ext}`;

/** Changes a byte of full generation `sequence`'s tail (its layout still verifies, its checksum does not). */
function damageTail(dir: string, sequence: number): void {
  const fd = fs.openSync(join(dir, name(sequence, 'img')), 'r+');
  fs.writeSync(fd, Buffer.from([0x55]), 0, 1, 40000);
  fs.closeSync(fd);
}

/** Four generations: full 1, then deltas 2, 3, 4 (each of the one before). */
async function chain(t: Test): Promise<{ base: string; dir: string }> {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  await writeGenerations(dir, { generations: 4, maxChain: 3 });
  return { base, dir };
}

/** Runs each command on `ref` and checks it fails with exactly `line`. */
async function failsWith(t: Test, base: string, dir: string, ref: string, line: string): Promise<void> {
  for (const argv of [['show', ref], ['cat', ref], ['export', ref, join(base, `${ref}.shmx`)]]) {
    const r = await runBin([...argv, '--dir', dir]);
    t.equal(r.code, 1, `${argv[0]} ${ref}: exit 1`);
    t.ok(isOneLineError(r.stderr), r.stderr);
    t.equal(r.stderr, `shm-host: ${line}\n`, `${argv[0]} ${ref}`);
  }
}

t.test('a missing link: named, and the newest older generation that verifies offered', async (t) => {
  const { base, dir } = await chain(t);
  fs.rmSync(join(dir, name(2, 'delta')));
  await failsWith(t, base, dir, '4', 'generation 4 cannot be read: gen-0000000000000002.delta (generation 2, which it depends on) is missing (use generation 1 instead, the newest older one that verifies)');
  await failsWith(t, base, dir, '2', 'generation 2 cannot be read: gen-0000000000000002.delta is missing (use generation 1 instead, the newest older one that verifies)');
});

t.test('a missing link with every older generation broken too: said, and verify pointed at', async (t) => {
  const { base, dir } = await chain(t);
  fs.rmSync(join(dir, name(2, 'delta')));
  fs.truncateSync(join(dir, name(1, 'img')), 100);
  await failsWith(t, base, dir, '4', 'generation 4 cannot be read: gen-0000000000000002.delta (generation 2, which it depends on) is missing (no older generation verifies either; see shm-host verify --all)');
  // The oldest one itself, damaged in its layout: nothing older to offer either.
  await failsWith(t, base, dir, '1', 'generation 1 is damaged: invalid layout: the file has 100 bytes, less than the 4096-byte header page (no older generation verifies either; see shm-host verify --all)');
});

t.test('a link whose manifest is gone: the chain is broken at it', async (t) => {
  const { base, dir } = await chain(t);
  fs.rmSync(join(dir, name(3, 'json')));
  await failsWith(t, base, dir, 'latest', 'generation 4 cannot be read: its chain is broken: generation 3 is missing (use generation 2 instead, the newest older one that verifies)');
});

t.test('a full generation that fails its checksum: export offers one that verifies, not just "an older one"', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  await writeGenerations(dir, { generations: 3 });
  for (const sequence of [2, 3]) damageTail(dir, sequence);
  const r = await runBin(['export', 'latest', join(base, 'x.shmx'), '--dir', dir]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^shm-host: generation 3 is damaged: checksum mismatch: image gen-0000000000000003\.img changed after it was written \(manifest [0-9a-f]{16}, image [0-9a-f]{16}\) \(use generation 1 instead, the newest older one that verifies, or add --ignore-checksum to take its bytes as they are\)\n$/);
  fs.truncateSync(join(dir, name(1, 'img')), 40000);
  const none = await runBin(['export', 'latest', join(base, 'x.shmx'), '--dir', dir]);
  t.match(none.stderr, /^shm-host: generation 3 is damaged: checksum mismatch: image gen-0000000000000003\.img changed after it was written \(manifest [0-9a-f]{16}, image [0-9a-f]{16}\) \(no older generation verifies either; see shm-host verify --all, or add --ignore-checksum to take its bytes as they are\)\n$/);
});

t.test('a host starting where no generation verifies says so, never "falling back" past the oldest, and does not start empty over them', async (t) => {
  const { dir } = await chain(t);
  fs.rmSync(join(dir, name(2, 'delta')));
  fs.truncateSync(join(dir, name(1, 'img')), 100);
  // The generations' files; the host's own marks (clean-end, lock) may come and go.
  const generations = (): string[] => fs.readdirSync(dir).filter((f) => f.startsWith('gen-')).sort();
  const before = generations();
  const r = await runBin(['--dir', dir, '--interval', '0', '--', 'true']);
  t.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split('\n');
  t.match(lines[0], /^shm-host: warn: generation 4 is unusable \(gen-0+2\.delta \(generation 2, which it depends on\) is missing\); falling back to an older one$/);
  t.match(lines[3], /^shm-host: warn: generation 1 is unusable \(image gen-0+1\.img has 100 bytes but its manifest says 65536 \(truncated or replaced\)\); no older one is left$/);
  t.equal(lines[4], `shm-host: no generation in ${dir} can be restored (4 found, none of which verifies) (the host does not start empty over them, which would let retention delete them; move the directory aside to start empty, or verify every generation in it to see what is wrong with each: shm-host verify --all --dir ${dir})`);
  t.equal(lines.length, 6, 'one line more than the fallbacks, then the end');
  t.same(generations(), before, 'no generation\'s file deleted or added');
});

t.test('a host starting where the newest images fail only their checksums: each found while it is restored, skipped, and the next one restored', async (t) => {
  // Full generations 1, 2, 3: a tail byte of 3 and of 2 changed (their layouts still verify).
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  await writeGenerations(dir, { generations: 3 });
  for (const sequence of [2, 3]) damageTail(dir, sequence);
  const r = await runBin(['--dir', dir, '--interval', '0', '--', 'true']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n');
  t.match(lines[0], /^shm-host: warn: generation 3 is unusable \(checksum mismatch: image gen-0000000000000003\.img changed after it was written \(manifest [0-9a-f]{16}, image [0-9a-f]{16}\)\); falling back to an older one$/);
  t.match(lines[1], /^shm-host: warn: generation 2 is unusable \(checksum mismatch: image gen-0000000000000002\.img changed after it was written \(manifest [0-9a-f]{16}, image [0-9a-f]{16}\)\); falling back to an older one$/);
  t.match(lines[2], /^shm-host: restored generation 1 \(/, 'then the newest that verifies');
});

t.test('a host starting on a chain whose full image fails its checksum only in blocks its deltas all hold: the newest delta restores, as verify says', async (t) => {
  const { dir } = await chain(t);
  // The whole 64 KiB image is the head, which every delta holds in full: the full image's byte is never read through a delta.
  damageTail(dir, 1);
  const verify = await runBin(['verify', '--all', '--json', '--dir', dir]);
  const verdicts = (JSON.parse(verify.stdout) as { results: Array<{ sequence?: number; ok: boolean }> }).results.filter((v) => v.sequence !== undefined);
  t.same(verdicts.filter((v) => !v.ok).map((v) => v.sequence), [1], `verify fails the full generation alone (${JSON.stringify(verdicts)})`);
  const r = await runBin(['--dir', dir, '--interval', '0', '--', 'true']);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /is unusable/, 'nothing skipped');
  t.match(r.stderr.split('\n')[0], /^shm-host: restored generation 4 \(/, 'the newest restored');
});
