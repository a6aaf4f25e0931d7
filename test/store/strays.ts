// Files in the snapshot directory that are not generations (an orphan image
// with no manifest, a file named like a manifest that holds none, another
// program's leftovers) never disable captures or retention, never take the
// place of a generation, never count in numbering, and are never deleted by
// retention: through the store, and through the real host.
import fs from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SnapshotStore, generationFileName } from '../../src/store/index.js';
import { capture, createSharedFile } from '../../src/live/index.js';
import { attach } from '../../src/client/index.js';
import { fixture, scratch, until } from '../host/harness.js';
import { scratchDir } from './helpers.js';

/** The last sequence a generation's name can hold. */
const LAST = Number.MAX_SAFE_INTEGER;

/** Plants the strays of this file in `dir`; returns their names and contents. */
function plantStrays(dir: string): Map<string, string> {
  const strays = new Map<string, string>([
    [generationFileName(LAST, 'image'), 'an image with no manifest, at the last number a name holds'],
    [generationFileName(LAST - 1, 'manifest'), 'not a manifest, named like one near the end of the numbers'],
    [generationFileName(1, 'manifest'), '{"written by": "another program"}'],
    ['notes.txt', 'a leftover from another program'],
  ]);
  for (const [name, text] of strays) fs.writeFileSync(join(dir, name), text);
  return strays;
}

const generationsOf = async (dir: string): Promise<number[]> => {
  const store = await SnapshotStore.open(dir, { readOnly: true });
  try {
    return (await store.list()).filter((g) => g.ok).map((g) => g.sequence);
  } finally {
    await store.close();
  }
};

t.test('the store: captures go on after the strays, retention keeps `keep` generations and none of the strays', async (t) => {
  // Full generations only (maxChain 0): retention keeps exactly `keep`, no chain behind them.
  const dir = scratchDir(t);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const strays = plantStrays(dir);
  const store = await SnapshotStore.open(dir, { keep: 2, chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  const fd = createSharedFile(64 * 1024);
  t.teardown(() => fs.closeSync(fd));
  const state = attach({ fd, slots: 16, ringSize: 8192 });
  const sequences: number[] = [];
  for (let i = 0; i < 4; i++) {
    state.commit(Uint8Array.of(i + 1));
    sequences.push((await capture(fd, store, 'interval')).generation.sequence);
  }
  // Numbering starts after the newest real generation (none), skipping the name the stray manifest holds.
  t.same(sequences, [2, 3, 4, 5]);
  await store.close();
  t.same(await generationsOf(dir), [5, 4], 'keep 2: the two newest generations, the strays not counted');
  // The orphan image is debris of an interrupted write to the store and is swept at open; every other stray stays as it was.
  strays.delete(generationFileName(LAST, 'image'));
  for (const [name, text] of strays) t.equal(fs.readFileSync(join(dir, name), 'utf8'), text, `${name} untouched`);
  const reopened = await SnapshotStore.open(dir, { keep: 2, chain: { maxChain: 0 } });
  t.teardown(() => reopened.close());
  t.equal((await reopened.newestVerified()).generation?.sequence, 5, 'the newest verified generation is a real one');
});

t.test('the real host: captures and retention go on beside strays; list and show latest point at real generations', async (t) => {
  const { dir, start } = scratch(t);
  const state = join(dir, 'state');
  fs.mkdirSync(state, { mode: 0o700 });
  const strays = plantStrays(state);
  strays.delete(generationFileName(LAST, 'image'));
  const host = start(['--dir', state, '--interval', '20ms', '--keep', '2', '--max-chain', '0', '--', process.execPath, fixture('counter.js'), '200']);
  // Four interval captures: the numbers would run out at once if the stray image counted.
  await until('four generations', async () => (await generationsOf(state)).some((s) => s >= 5), 20_000);
  const kept = await generationsOf(state);
  t.equal(kept.length <= 3, true, `retention still runs (kept ${kept.join(', ')})`);
  t.notOk(host.stderr.lines.some((l) => /sequence numbers|capture failed/.test(l)), host.stderr.lines.join('\n'));
  for (const [name, text] of strays) t.equal(fs.readFileSync(join(state, name), 'utf8'), text, `${name} untouched`);
  // Reported once, at the start: the file named like a manifest near the end of the numbers.
  t.equal(host.stderr.lines.filter((l) => l.includes(String(LAST - 1))).length, 1, host.stderr.lines.join('\n'));
  const { runBin } = await import('../cli/harness.js');
  const show = await runBin(['show', 'latest', '--dir', state, '--json']);
  t.equal(show.code, 0, show.stderr);
  t.ok(kept.includes(JSON.parse(show.out).sequence) || JSON.parse(show.out).sequence > Math.max(...kept), 'latest is a real generation');
});
