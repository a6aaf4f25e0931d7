// The inspection commands on a 5 GiB generation (an image larger than one
// JavaScript buffer spans on Node 20): list, show, verify, cat of tail bytes
// past 4 GiB, and an export/import round trip. The image is sparse, and so
// are the export and the imported image.
import t, { type Test } from 'tap';
import { closeSync, ftruncateSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { memfdCreate } from '../../src/sys/index.js';
import { SnapshotStore, type Generation } from '../../src/store/index.js';
import { capture } from '../../src/live/index.js';
import { attach, type SharedState } from '../../src/client/index.js';
import { runCli } from './harness.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const SIZE = 5 * GiB;
/** File offset of the bytes written past 4 GiB, across a page boundary. */
const AT = 4 * GiB + 4093;
const PATTERN = Buffer.from(Array.from({ length: 2 * MiB }, (_, i) => (i * 7 + (i >>> 12)) & 0xff));

/**
 * A scratch directory holding `state/`, a store with one generation: a
 * memory file of `size` bytes that `write` filled as a child would.
 */
async function storedGeneration(t: Test, size: number, write: (state: SharedState) => void): Promise<{ work: string; dir: string; generation: Generation; tailBase: number }> {
  const work = mkdtempSync(`${tmpdir()}/shm-host-big-cli-`);
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const dir = `${work}/state`;
  const fd = memfdCreate('big-cli-test');
  t.teardown(() => closeSync(fd));
  ftruncateSync(fd, size);
  const state = attach({ fd, env: {} });
  const tailBase = state.layout.tailBase;
  write(state);
  state.close();
  const store = await SnapshotStore.open(dir, { keep: 10 });
  try {
    return { work, dir, generation: (await capture(fd, store, 'request')).generation, tailBase };
  } finally {
    await store.close();
  }
}

t.test('a 5 GiB generation: list, show, verify, cat past 4 GiB, export and import', async (t) => {
  const { work, dir, generation, tailBase } = await storedGeneration(t, SIZE, (state) => {
    state.writeTail(AT - state.layout.tailBase, PATTERN);
    state.commit(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  });
  t.equal(generation.manifest.imageSize, SIZE, 'captured a 5 GiB image');

  const listed = JSON.parse((await runCli(['list', '--dir', dir, '--verify', '--json'])).out);
  t.match(listed.generations[0], { sequence: generation.sequence, imageSize: SIZE, state: 'ok' }, 'list --verify: ok');
  const shown = JSON.parse((await runCli(['show', 'latest', '--dir', dir, '--json'])).out);
  t.same(shown.image.tail, { offset: tailBase, size: SIZE - tailBase }, 'show: the tail runs to 5 GiB');
  t.equal((await runCli(['verify', 'latest', '--dir', dir])).code, 0, 'verify: ok');

  const offset = String(AT - tailBase);
  const part = await runCli(['cat', 'latest', '--dir', dir, '--tail', '--offset', offset, '--length', String(PATTERN.length)]);
  t.equal(part.code, 0, part.stderr);
  t.ok(part.stdout.equals(PATTERN), 'cat --tail --offset: the 2 MiB past 4 GiB, byte for byte');
  const last = await runCli(['cat', 'latest', '--dir', dir, '--tail', '--offset', String(SIZE - tailBase - 16), '--format', 'hex']);
  t.equal(last.out, `${'00'.repeat(16)}\n`, 'cat --tail --offset to the end: the last 16 bytes');
  const past = await runCli(['cat', 'latest', '--dir', dir, '--tail', '--offset', '5G', '--length', '1']);
  t.equal(past.code, 1, 'a range past the tail: exit 1');
  t.match(past.stderr, /^shm-host: --offset 5G is past the end of generation \d+'s tail, which has (\d+) bytes \(give an --offset below \1\)\n$/);

  const file = `${work}/state.shmx`;
  const exported = await runCli(['export', 'latest', file, '--dir', dir, '--json']);
  t.equal(exported.code, 0, exported.stderr);
  const exportStat = statSync(file);
  t.ok(exportStat.size > SIZE, 'the export holds the whole 5 GiB image');
  t.ok(exportStat.blocks * 512 < 64 * MiB, `and is sparse (${exportStat.blocks * 512} bytes on disk)`);
  const other = `${work}/other`;
  const imported = await runCli(['import', file, '--dir', other]);
  t.equal(imported.code, 0, imported.stderr);
  t.equal((await runCli(['verify', 'latest', '--dir', other])).code, 0, 'the imported generation verifies');
  const again = await runCli(['cat', 'latest', '--dir', other, '--tail', '--offset', offset, '--length', '2M']);
  t.ok(again.stdout.equals(PATTERN), 'and holds the bytes past 4 GiB');
  const imageStat = statSync(JSON.parse((await runCli(['list', '--dir', other, '--json'])).out).generations[0].image as string);
  t.ok(imageStat.blocks * 512 < 64 * MiB, 'the imported image is sparse too');
});

t.test('an image larger than an export holds (a child grew its file past 1 TiB): one line, nothing written', async (t) => {
  const { work, dir } = await storedGeneration(t, 2 ** 40 + MiB, (state) => { state.commit(new Uint8Array([1])); });
  t.equal((await runCli(['verify', 'latest', '--dir', dir])).code, 0, 'the 1 TiB + 1 MiB generation verifies');
  const file = `${work}/huge.shmx`;
  const r = await runCli(['export', 'latest', file, '--dir', dir]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^shm-host: generation 1 has a 1\.0 TiB image, more than an export holds \(1 TiB\) \(copy the image and its manifest out of the snapshot directory instead\)\n$/);
  t.same(readdirSync(work).sort(), ['state'], 'no export file, not even a temporary one');
});
