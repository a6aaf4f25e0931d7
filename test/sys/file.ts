// SEEK_DATA/SEEK_HOLE and sendfile on a real sparse memory file; writeback.
import t from 'tap';
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { memfdCreate, seekData, seekHole, sendfile, startWriteback } from '../../src/sys/index.js';

const MiB = 1 << 20;

t.test('seekData and seekHole find the written pages of a sparse file', async (t) => {
  const fd = memfdCreate('sparse');
  t.teardown(() => closeSync(fd));
  ftruncateSync(fd, 4 * MiB);
  writeSync(fd, Buffer.from('x'), 0, 1, MiB + 10);
  t.equal(seekData(fd, 0), MiB, 'the first data is the page holding the byte');
  t.equal(seekHole(fd, 0), 0, 'offset 0 is in a hole');
  t.equal(seekHole(fd, MiB), MiB + 4096, 'the hole after that page');
  t.equal(seekData(fd, MiB + 4096), null, 'nothing but holes to the end');
  t.equal(seekHole(fd, 3 * MiB), 3 * MiB);
  t.equal(seekData(fd, 5 * MiB), null, 'past the end: no data');
  t.throws(() => seekHole(fd, 5 * MiB), { name: 'SysError', code: 'ENXIO' }, 'past the end: not even a hole');
  t.throws(() => seekHole(-1, 0), { name: 'SysError', code: 'EBADF', syscall: 'lseek(SEEK_HOLE)' });
});

t.test('sendfile copies a range in the kernel', async (t) => {
  const src = memfdCreate('source');
  t.teardown(() => closeSync(src));
  const data = Buffer.from(Array.from({ length: 10000 }, (_, i) => i & 0xff));
  writeSync(src, data, 0, data.length, 0);
  const path = join(t.testdir({}), 'copy');
  const out = openSync(path, 'w');
  let copied = 0;
  while (copied < 6000) copied += sendfile(out, src, 1000 + copied, 6000 - copied);
  closeSync(out);
  t.equal(copied, 6000);
  t.ok(readFileSync(path).equals(data.subarray(1000, 7000)));
  t.throws(() => sendfile(-1, src, 0, 1), { name: 'SysError', code: 'EBADF', syscall: 'sendfile' });
});

t.test('startWriteback starts writeback of a file range, and says when it could not', async (t) => {
  const path = join(t.testdir({}), 'dirty');
  const fd = openSync(path, 'w');
  t.teardown(() => closeSync(fd));
  writeSync(fd, Buffer.alloc(256 * 1024, 7));
  t.equal(await startWriteback(fd, 0, 256 * 1024), true);
  t.equal(await startWriteback(-1, 0, 4096), false, 'a bad descriptor resolves false instead of throwing');
});
