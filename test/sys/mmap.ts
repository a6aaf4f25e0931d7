// Shared mappings of real files: what one mapping writes the file and other
// mappings see; unmapped exactly once; refused use after close.
import t, { type Test } from 'tap';
import { closeSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { MAX_VIEW_BYTES, Mapping, memfdCreate } from '../../src/sys/index.js';

function memfd(t: Test, size: number): number {
  const fd = memfdCreate('mmap-test');
  ftruncateSync(fd, size);
  t.teardown(() => closeSync(fd));
  return fd;
}

t.test('a writable mapping is shared with the file and with other mappings', async (t) => {
  const fd = memfd(t, 3 * 4096);
  const w = Mapping.map(fd, 3 * 4096, { writable: true });
  const r = Mapping.map(fd, 3 * 4096);
  t.teardown(() => { w.close(); r.close(); });
  t.equal(w.writable, true);
  t.equal(r.writable, false);
  t.equal(w.length, 3 * 4096);
  t.equal(w.bytes.byteOffset % 8, 0, 'page-aligned, so 8-byte words are atomic');
  w.bytes.set([1, 2, 3], 5000);
  t.same([...r.bytes.subarray(5000, 5003)], [1, 2, 3], 'the other mapping sees it');
  const back = Buffer.alloc(3);
  readSync(fd, back, 0, 3, 5000);
  t.same([...back], [1, 2, 3], 'the file has it');
  writeSync(fd, Buffer.from([9]), 0, 1, 0);
  t.equal(w.bytes[0], 9, 'a write to the file shows in the mapping');
});

t.test('close unmaps once; bytes refuse use afterwards', async (t) => {
  const fd = memfd(t, 4096);
  const m = Mapping.map(fd, 4096, { writable: true });
  t.equal(m.closed, false);
  m.close();
  t.equal(m.closed, true);
  m.close();
  t.throws(() => m.bytes, { message: 'the shared memory mapping is closed' });
});

t.test('bad lengths and descriptors are clear errors', async (t) => {
  const fd = memfd(t, 4096);
  for (const length of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => Mapping.map(fd, length), { name: 'RangeError', message: /cannot map .* bytes: the length must be a positive integer/ });
  }
  t.throws(() => Mapping.map(-1, 4096), { name: 'SysError', code: 'EBADF', syscall: 'mmap', message: 'mmap (fd -1, 4096 bytes) failed: EBADF' });
  const ro = openSync(`/proc/self/fd/${fd}`, 'r');
  t.teardown(() => closeSync(ro));
  t.throws(() => Mapping.map(ro, 4096, { writable: true }), { code: 'EACCES' }, 'read-write mapping of a read-only descriptor');
  const m = Mapping.map(ro, 4096);
  t.equal(m.bytes.length, 4096, 'read-only mapping of it works');
  m.close();
});

const GiB = 2 ** 30;

t.test('a 5 GiB mapping is reached through windows; one buffer over it only where the runtime allows', async (t) => {
  const size = 5 * GiB;
  const fd = memfd(t, size);
  const m = Mapping.map(fd, size, { writable: true });
  t.teardown(() => m.close());
  const at = 4 * GiB + 12345;
  const window = m.view(at, 4096);
  window.set([7, 8, 9]);
  const back = Buffer.alloc(3);
  readSync(fd, back, 0, 3, at);
  t.same([...back], [7, 8, 9], 'a write through a window past 4 GiB lands in the file');
  writeSync(fd, Buffer.from([42]), 0, 1, size - 1);
  t.equal(m.view(size - 4096, 4096)[4095], 42, 'the last byte of the file through a window');
  t.equal(m.view(0, 0).length, 0, 'an empty window');
  t.throws(() => m.view(size - 10, 11), { name: 'RangeError', message: /cannot view bytes \[\d+, \d+\) of a \d+-byte mapping/ });
  t.throws(() => m.view(-1, 1), { name: 'RangeError' });
  if (MAX_VIEW_BYTES < size) {
    t.throws(() => m.bytes, { name: 'RangeError', message: /one JavaScript buffer holds at most \d+ bytes in Node v[\d.]+; view it in windows/ }, `Node ${process.version}: refused, not a fatal error`);
    t.equal(MAX_VIEW_BYTES, 2 ** 32, 'Node 20: one buffer spans 4 GiB');
  } else {
    t.equal(m.bytes.length, size, `Node ${process.version}: one buffer spans the whole file`);
    t.equal(m.bytes[at + 1], 8);
  }
  m.close();
  t.throws(() => m.view(0, 1), { message: 'the shared memory mapping is closed' });
});

t.test('probe maps nothing it keeps, and says when a length cannot be mapped', async (t) => {
  const fd = memfd(t, 4096);
  t.doesNotThrow(() => Mapping.probe(fd, 2 ** 40), 'a 1 TiB mapping of a memory file reserves no memory');
  t.throws(() => Mapping.probe(fd, 2 ** 52), { name: 'SysError', code: 'ENOMEM', syscall: 'mmap' }, 'more than the address space');
});
