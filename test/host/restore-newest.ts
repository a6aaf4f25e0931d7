// The host's start on a directory: each generation's structure verified,
// its image checksum checked while it is restored (read once), and one
// that fails either way skipped with its reason. Oracle: a full verify of
// every generation (verifyAll() with the image checksum) must fail exactly
// the ones skipped. Real memfds, a real store, real files damaged.
import t, { type Test } from 'tap';
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotStore, type VerifyOptions } from '../../src/store/index.js';
import { capture } from '../../src/live/index.js';
import { Mapping } from '../../src/sys/index.js';
import { createLogger } from '../../src/host/index.js';
import { restoreNewest } from '../../src/host/restore-newest.js';
import { liveFile, scratchDir } from '../store/helpers.js';

const SIZE = 1 << 20;

/** A full generation and two deltas, each of them changing one page near the start of the tail; the last page of the file is never changed. */
async function chainOf3(t: Test): Promise<{ store: SnapshotStore; fd: number }> {
  const store = await SnapshotStore.open(scratchDir(t, 'restore-newest'), { chain: { maxChain: 4 }, keep: 5 });
  t.teardown(() => store.close());
  const { fd } = liveFile(t, SIZE, 64, 64 * 1024);
  const page = new Uint8Array(4096);
  for (let i = 0; i < 3; i++) {
    writeSync(fd, page.fill(0x10 + i), 0, page.length, 512 * 1024 + i * 4096);
    writeSync(fd, page.fill(0x70), 0, page.length, SIZE - 4096);
    await capture(fd, store, 'request');
  }
  return { store, fd };
}

/** restoreNewest() with its log lines; the restored file's bytes, or null for an empty start. */
async function start(store: SnapshotStore, lines: string[] = []): Promise<{ lines: string[]; bytes: Buffer | null }> {
  const log = createLogger({ format: 'text', quiet: false, write: (line) => void lines.push(line.trimEnd()) });
  const { fd, generation } = await restoreNewest(store, { dir: store.dir, size: SIZE, name: 'restore-newest-test' }, log);
  try {
    const m = Mapping.map(fd, fstatSync(fd).size);
    try {
      return { lines, bytes: generation !== null ? Buffer.from(m.bytes) : null };
    } finally {
      m.close();
    }
  } finally {
    closeSync(fd);
  }
}

/** Sequences verifyAll() fails with the image checksum checked. */
async function failingVerify(store: SnapshotStore): Promise<number[]> {
  const out: number[] = [];
  for await (const { listed, verdict } of store.verifyAll()) if (!verdict.ok) out.push(listed.sequence);
  return out;
}

/** Flips one byte of the full generation's image at `offset`. */
async function damageFull(store: SnapshotStore, offset: number): Promise<void> {
  const full = (await store.list()).find((g) => g.ok && g.manifest.kind === 'full')!;
  if (!full.ok) throw new Error('no full generation');
  const fd = openSync(full.imagePath, 'r+');
  writeSync(fd, Uint8Array.of(0xa5), 0, 1, offset);
  closeSync(fd);
}

t.test('intact: the newest generation is restored, nothing skipped', async (t) => {
  const { store, fd } = await chainOf3(t);
  const { lines, bytes } = await start(store);
  t.equal(lines.length, 1, lines.join('\n'));
  t.match(lines[0], /restored generation 3 \(request/);
  const m = Mapping.map(fd, SIZE);
  t.teardown(() => m.close());
  t.ok(bytes !== null && Buffer.compare(bytes.subarray(SIZE / 2), Buffer.from(m.bytes.subarray(SIZE / 2))) === 0, 'the tail as captured');
});

/** Descriptors open in this process. */
const openFds = (): number => readdirSync('/proc/self/fd').length;

t.test('the full image damaged where no delta holds the block: every generation skipped at its restore, as a full verify says, no file left open, and no empty start over them', async (t) => {
  const { store } = await chainOf3(t);
  await damageFull(store, SIZE - 100);
  const before = openFds();
  const lines: string[] = [];
  await t.rejects(start(store, lines), {
    code: 'NO_USABLE_GENERATION',
    problem: `no generation in ${store.dir} can be restored (3 found, none of which verifies)`,
    // Words only, and the data a command line needs to name its command (the directory, the option it is about).
    hint: 'the host does not start empty over them, which would let retention delete them; move the directory aside to start empty, or verify every generation in it to see what is wrong with each',
    path: store.dir,
    option: 'dir',
  });
  const composed = /^shm-host: warn: generation (\d) is unusable \(checksum mismatch: the image its chain composes is not the one it was written for \(manifest [0-9a-f]{16}, chain [0-9a-f]{16}\); full generation 1 at the chain's root changed after it was written\); falling back to an older one$/;
  t.match(lines[0], composed);
  t.match(lines[0], /generation 3 is unusable/);
  t.match(lines[1], composed);
  t.match(lines[1], /generation 2 is unusable/);
  t.match(lines[2], /^shm-host: warn: generation 1 is unusable \(checksum mismatch: image gen-0000000000000001\.img changed after it was written \(manifest [0-9a-f]{16}, image [0-9a-f]{16}\)\); no older one is left$/);
  t.equal(lines.length, 3, 'nothing more is logged: the caller says why it stops');
  t.equal(openFds(), before, 'the three files restored into and dropped are closed');
  t.same((await store.list()).map((g) => g.sequence), [3, 2, 1], 'every generation is still there');
  t.same(await failingVerify(store), [3, 2, 1], 'the oracle: a full verify fails the same three');
});

t.test('the full image damaged in a block the newest delta holds: that delta restores, as a full verify says', async (t) => {
  const { store } = await chainOf3(t);
  // The page the last delta (generation 3) changed: it holds that block, so its chain composes the right image.
  await damageFull(store, 512 * 1024 + 2 * 4096 + 7);
  const { lines } = await start(store);
  t.equal(lines.length, 1, lines.join('\n'));
  t.match(lines[0], /restored generation 3 \(/);
  t.same(await failingVerify(store), [2, 1], 'the oracle: a full verify fails only the older two');
});

t.test('an image that vanishes between its check and its restore: skipped with why, and the one before restored', async (t) => {
  const store = await SnapshotStore.open(scratchDir(t, 'restore-newest'), { chain: { maxChain: 0 }, keep: 5 });
  t.teardown(() => store.close());
  const { fd } = liveFile(t, SIZE, 64, 64 * 1024);
  for (let i = 0; i < 3; i++) {
    writeSync(fd, new Uint8Array(4096).fill(0x20 + i), 0, 4096, SIZE / 2);
    await capture(fd, store, 'request');
  }
  // The real store, except that generation 3's image is deleted once it has passed its check.
  const vanishing = {
    async *verifyAll(options?: VerifyOptions) {
      for await (const check of store.verifyAll(options)) {
        if (check.listed.sequence === 3 && check.listed.ok) unlinkSync(check.listed.imagePath);
        yield check;
      }
    },
    openChain: store.openChain.bind(store),
    remember: store.remember.bind(store),
    setAside: store.setAside,
    dir: store.dir,
  } as unknown as SnapshotStore;
  const { lines } = await start(vanishing);
  t.equal(lines[0], 'shm-host: warn: generation 3 is unusable (image gen-0000000000000003.img is missing); falling back to an older one');
  t.match(lines[1], /restored generation 2 \(/);
});

t.test('a failure after some generations were skipped: those are still logged, then the failure is thrown', async (t) => {
  const { store } = await chainOf3(t);
  const failing = {
    async *verifyAll(options?: VerifyOptions) {
      for await (const check of store.verifyAll(options)) {
        if (check.listed.sequence === 3) yield { listed: check.listed, verdict: { ok: false as const, reason: 'damaged in this test' } };
        else throw new Error('the disk went away');
      }
    },
  } as unknown as SnapshotStore;
  const lines: string[] = [];
  const log = createLogger({ format: 'text', quiet: false, write: (line) => void lines.push(line.trimEnd()) });
  await t.rejects(restoreNewest(failing, { dir: 'the directory', size: SIZE, name: 'restore-newest-test' }, log), { message: 'the disk went away' });
  t.same(lines, ['shm-host: warn: generation 3 is unusable (damaged in this test); falling back to an older one']);
});

t.test('only a file named like a manifest that does not parse (not a generation, never deleted): an empty start, saying so', async (t) => {
  const dir = scratchDir(t, 'restore-newest');
  const store = await SnapshotStore.open(dir, { keep: 3 });
  t.teardown(() => store.close());
  writeFileSync(join(dir, 'gen-0000000000000009.json'), 'not a manifest');
  const { lines, bytes } = await start(store);
  t.equal(bytes, null, 'an empty start');
  t.match(lines.at(-1), /^shm-host: no generation to restore \(the files skipped cannot be read as manifests: they are not generations\) in .*: starting with an empty /);
});

t.test('generations skipped for an older one are set aside in damaged/ (hard links, with their chains), where retention does not reach them; a second start adds nothing', async (t) => {
  const { store } = await chainOf3(t);
  // The newest delta cut: 3 is skipped, 2 restored.
  const newest = (await store.list()).find((g) => g.ok && g.sequence === 3)!;
  if (!newest.ok) throw new Error('no generation 3');
  const fd = openSync(newest.imagePath, 'r+');
  ftruncateSync(fd, fstatSync(fd).size - 8);
  closeSync(fd);
  const { lines } = await start(store);
  t.match(lines.join('\n'), /restored generation 2/);
  const aside = lines.find((l) => l.includes('could not be restored')) ?? '';
  t.match(aside, new RegExp(`generation 3 could not be restored: their files and their chains' are linked into ${join(store.dir, 'damaged')} \\(6 new\\)`));
  const damaged = join(store.dir, 'damaged');
  const names = readdirSync(damaged).sort();
  t.same(names, ['gen-0000000000000001.img', 'gen-0000000000000001.json', 'gen-0000000000000002.delta', 'gen-0000000000000002.json', 'gen-0000000000000003.delta', 'gen-0000000000000003.json'], 'the generation and its chain');
  for (const name of names) t.equal(statSync(join(damaged, name)).ino, statSync(join(store.dir, name)).ino, `${name}: a second name, not a copy`);
  t.equal(statSync(damaged).mode & 0o777, 0o700);
  // Retention deletes the originals: the set-aside names keep the bytes, and read as a snapshot directory.
  const before = readFileSync(join(damaged, 'gen-0000000000000003.delta'));
  unlinkSync(newest.imagePath);
  unlinkSync(newest.manifestPath);
  t.same(readFileSync(join(damaged, 'gen-0000000000000003.delta')), before, 'bytes kept');
  const aside2 = await SnapshotStore.open(damaged, { readOnly: true });
  t.teardown(() => aside2.close());
  t.same((await aside2.list()).map((g) => g.sequence), [3, 2, 1], 'listed there');
  const verdicts = new Map<number, boolean>();
  for await (const { listed, verdict } of aside2.verifyAll()) verdicts.set(listed.sequence, verdict.ok);
  t.same([...verdicts], [[3, false], [2, true], [1, true]], 'what verified in place verifies there');
  // Damage 2 now: a start skips 2 and restores 1; what damaged/ holds already is left as it is.
  writeFileSync(join(store.dir, 'gen-0000000000000002.delta'), 'x');
  const again = await start(store);
  t.match(again.lines.find((l) => l.includes('could not be restored')) ?? '', /generation 2 could not be restored: .* \(0 new\)/);
});

t.test('the set-aside lines name the directory the store links into, whatever the caller calls the directory; a failure names it too', async (t) => {
  const { store } = await chainOf3(t);
  const newest = (await store.list()).find((g) => g.ok && g.sequence === 3)!;
  writeFileSync(newest.imagePath, 'x');
  const log = (lines: string[]) => createLogger({ format: 'text', quiet: false, write: (line) => void lines.push(line.trimEnd()) });
  const into = join(store.dir, 'damaged');
  const lines: string[] = [];
  closeSync((await restoreNewest(store, { dir: 'the directory', size: SIZE, name: 'restore-newest-test' }, log(lines))).fd);
  t.match(lines.find((l) => l.includes('could not be restored')), `generation 3 could not be restored: their files and their chains' are linked into ${into} (6 new)`);
  t.equal(readdirSync(into).length, 6, 'where the line says');
  // A file system without hard links: the line says where the links would have gone.
  store.setAside = async () => {
    throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
  };
  const failed: string[] = [];
  closeSync((await restoreNewest(store, { dir: 'the directory', size: SIZE, name: 'restore-newest-test' }, log(failed))).fd);
  t.match(failed.find((l) => l.includes('could not be restored')), `generation 3 could not be restored, nor linked into ${into} (EXDEV: cross-device link not permitted): retention will delete them`);
});
