// KeptMapping: the host's mapping of its current file, kept between
// captures. Captures through it store exactly what captures without it
// store (also after the file grew), and it is unmapped when closed, or
// after the capture still reading it when closed meanwhile.
import t from 'tap';
import { closeSync, ftruncateSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { SnapshotStore } from '../../src/store/index.js';
import { KeptMapping, capture } from '../../src/live/index.js';
import { liveFile, scratchDir } from '../store/helpers.js';

const MiB = 1 << 20;

/** How many mappings of the file `fd` this process has (by its inode, from /proc/self/maps). */
function mappingsOf(fd: number): number {
  const ino = String(fstatSync(fd).ino);
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.split(/\s+/)[4] === ino).length;
}

t.test('captures through a kept mapping store the same images as captures without one, also after the file grew', async (t) => {
  const size = 40 * MiB; // past the size at which the hashing is shared with a worker thread
  const kept = await SnapshotStore.open(scratchDir(t, 'kept'), { keep: 10 });
  const fresh = await SnapshotStore.open(scratchDir(t, 'fresh'), { keep: 10 });
  t.teardown(async () => {
    await kept.close();
    await fresh.close();
  });
  // Two files, changed alike: captures publish into the header they capture next.
  const one = liveFile(t, size, 64, 64 * 1024);
  const two = liveFile(t, size, 64, 64 * 1024);
  const fd = one.fd;
  const others = mappingsOf(fd); // the writer's own
  const mapping = new KeptMapping(fd);
  t.teardown(() => mapping.close());
  const fill = Buffer.alloc(MiB);
  for (let round = 1; round <= 4; round++) {
    for (const { fd, state } of [one, two]) {
      // Scattered changes, and in round 3 the file grows by 8 MiB (a child may grow fd 3).
      for (let i = 0; i < 16; i++) writeSync(fd, fill.fill(round * 16 + i), 0, 4096, ((i * 2654435761) % (size - 8 * MiB - 4096)) + 4 * MiB);
      if (round === 3) {
        ftruncateSync(fd, size + 8 * MiB);
        writeSync(fd, fill.fill(99), 0, 4096, size + 4 * MiB);
      }
      state.commit(new TextEncoder().encode(`round ${round}`));
    }
    const a = await capture(one.fd, kept, 'request', { kept: mapping });
    const b = await capture(two.fd, fresh, 'request');
    t.equal(a.generation.manifest.kind, b.generation.manifest.kind, `round ${round}: the same kind (${b.generation.manifest.kind})`);
    t.equal(a.generation.manifest.imageSize, b.generation.manifest.imageSize, `round ${round}: the same size`);
    t.equal(a.generation.manifest.checksum.value, b.generation.manifest.checksum.value, `round ${round}: the same image checksum`);
    t.same(a.generation.manifest.delta?.held, b.generation.manifest.delta?.held, `round ${round}: the same blocks held`);
    t.same(await kept.verify(a.generation), { ok: true }, `round ${round}: it verifies`);
  }
  t.equal(mappingsOf(fd), others + 1, 'one mapping of the file is kept (the outgrown one was unmapped)');
  mapping.close();
  t.equal(mappingsOf(fd), others, 'close() unmaps it');
  t.throws(() => mapping.acquire(size), /closed/, 'a closed one maps nothing again');
});

t.test('closed while a capture reads it: unmapped once that capture releases it', async (t) => {
  const { fd } = liveFile(t, 4 * MiB, 8, 4096);
  const others = mappingsOf(fd);
  const mapping = new KeptMapping(fd);
  const windows = mapping.acquire(4 * MiB);
  mapping.close();
  t.equal(mappingsOf(fd), others + 1, 'still mapped while in use');
  t.equal(windows.get(0, 8).length, 8, 'and still readable');
  mapping.release();
  t.equal(mappingsOf(fd), others, 'unmapped at the release');
});

t.test('a descriptor number reused for another file: the other file is mapped, never the old one', async (t) => {
  const a = liveFile(t, 4 * MiB, 8, 4096);
  const b = liveFile(t, 4 * MiB, 8, 4096);
  writeSync(a.fd, Buffer.alloc(4096, 1), 0, 4096, 2 * MiB);
  writeSync(b.fd, Buffer.alloc(4096, 2), 0, 4096, 2 * MiB);
  const fd = openSync(`/proc/self/fd/${a.fd}`, 'r');
  const mapping = new KeptMapping(fd);
  t.teardown(() => mapping.close());
  t.equal(mapping.acquire(4 * MiB).get(2 * MiB, 2 * MiB + 1)[0], 1, 'the first file');
  mapping.release();
  // Closed and the number reused for another file (open() takes the lowest free number).
  closeSync(fd);
  const again = openSync(`/proc/self/fd/${b.fd}`, 'r');
  t.teardown(() => closeSync(again));
  t.equal(again, fd, 'the same descriptor number');
  t.equal(mapping.acquire(4 * MiB).get(2 * MiB, 2 * MiB + 1)[0], 2, 'the second file, mapped anew');
  mapping.release();
});
