// cat and show check the bytes they print against the manifest's checksum
// (a full image, a chain's root, an export) before printing any, as export
// and verify do. Snapshot directories written by real captures; the built
// CLI (dist/) runs as a real process.
import fs from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { writeGenerations, type WrittenGeneration } from '../../fixtures/cli-store.js';
import { isOneLineError, runBin, runCli } from './harness.js';

const name = (sequence: number, ext: string): string => `gen-${String(sequence).padStart(16, '0')}.${ext}`;
const MiB = 1024 * 1024;

/** Flips every bit of the byte at `position` of `path`. */
function flipByte(path: string, position: number): void {
  const fd = fs.openSync(path, 'r+');
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, position);
  byte[0] = byte[0]! ^ 0xff;
  fs.writeSync(fd, byte, 0, 1, position);
  fs.closeSync(fd);
}

/** Where the bytes of `g`'s newest record start in the file `path` (an image or an export). */
function newestRecordAt(path: string, g: WrittenGeneration): number {
  const at = fs.readFileSync(path).indexOf(Buffer.from(g.records.at(-1)!.bytes));
  if (at < 0) throw new Error(`the newest record of generation ${g.sequence} is not in ${path}`);
  return at;
}

async function generations(t: Test, options: Record<string, number> = {}): Promise<{ base: string; dir: string; written: WrittenGeneration[] }> {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  return { base, dir, written: await writeGenerations(dir, { generations: 3, ...options }) };
}

/** `argv` fails with one line matching `line`, exit 1, and no image bytes on stdout (with --json, the error document). */
async function refuses(t: Test, argv: string[], line: RegExp): Promise<void> {
  const r = await runBin(argv);
  const label = argv.filter((a) => !a.startsWith('/')).join(' ');
  t.equal(r.code, 1, `${label}: exit 1`);
  if (argv.includes('--json')) t.match(JSON.parse(r.out), { error: { code: 'CORRUPT' } }, `${label}: the error document only`);
  else t.equal(r.stdout.length, 0, `${label}: no bytes on stdout`);
  t.ok(isOneLineError(r.stderr), r.stderr);
  t.match(r.stderr, line, label);
}

t.test('cat and show refuse a full generation whose record bytes fail its checksum, as export does', async (t) => {
  const { base, dir, written } = await generations(t);
  const path = written[2]!.imagePath;
  flipByte(path, newestRecordAt(path, written[2]!));
  const line = /^shm-host: generation 3 is damaged: checksum mismatch: image gen-0+3\.img changed after it was written \(manifest [0-9a-f]{16}, image [0-9a-f]{16}\) \(use generation 2 instead, the newest older one that verifies, or add --ignore-checksum to take its bytes as they are\)\n$/;
  for (const ref of ['3', 'latest', path]) {
    for (const argv of [['cat', ref], ['cat', ref, '--json'], ['cat', ref, '--record', 'all'], ['cat', ref, '--tail'], ['show', ref], ['show', ref, '--json']]) {
      await refuses(t, [...argv, '--dir', dir], line);
    }
  }
  const exported = await runBin(['export', '3', join(base, 'x.shmx'), '--dir', dir]);
  t.equal(exported.code, 1, 'export refuses it too');
  // An intact generation still reads.
  const intact = await runBin(['cat', '2', '--dir', dir]);
  t.equal(intact.code, 0, intact.stderr);
  t.same([...intact.stdout], [...written[1]!.records.at(-1)!.bytes]);
});

t.test('cat --tail over a chain whose root full image is damaged where no delta covers it: refused', async (t) => {
  // 1 MiB images: the deltas hold the blocks that changed, never the tail's far end, which only the root holds.
  const { dir, written } = await generations(t, { maxChain: 3, size: MiB });
  const root = written[0]!.imagePath;
  t.match(root, /\.img$/);
  t.match(written[2]!.imagePath, /\.delta$/);
  flipByte(root, MiB - 100);
  await refuses(t, ['cat', '3', '--tail', '--offset', String(MiB - 100 - written[2]!.tailBase), '--length', '1', '--dir', dir],
    /^shm-host: generation 3 is damaged: checksum mismatch: the image its chain composes is not the one it was written for .*full generation 1 at the chain's root changed after it was written \(no older generation verifies either; see shm-host verify --all, or add --ignore-checksum to take its bytes as they are\)\n$/);
  await refuses(t, ['show', 'latest', '--dir', dir], /^shm-host: generation 3 is damaged: checksum mismatch: the image its chain composes/);
});

t.test('cat and show refuse an export whose image bytes fail the checksum of the manifest it carries', async (t) => {
  const { base, dir, written } = await generations(t);
  const file = join(base, 'x.shmx');
  t.equal((await runCli(['export', '3', file, '--dir', dir])).code, 0);
  flipByte(file, newestRecordAt(file, written[2]!));
  for (const argv of [['cat', file], ['show', file]]) {
    await refuses(t, argv, /^shm-host: export .*x\.shmx is damaged: its SHA-256 does not match its contents \(check that the file is a shm-host snapshot image or export, or add --ignore-checksum to take its bytes as they are\)\n$/);
  }
});

t.test('show says the checksum was checked', async (t) => {
  const { dir } = await generations(t);
  const r = await runCli(['show', 'latest', '--dir', dir]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.out, /checksum:\s+xxh3\S* [0-9a-f]{16} \(matches the image\)/);
});
