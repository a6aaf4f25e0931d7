// The client on files over 4 GiB: the whole file is mapped, JavaScript sees
// it through views; `tail` is one buffer where the runtime allows one,
// tailWindow/readTail/writeTail reach any byte on every Node version.
import t from 'tap';
import { readSync, writeSync } from 'node:fs';
import { MAX_VIEW_BYTES } from '../../src/sys/index.js';
import { AttachError, attach } from '../../src/client/index.js';
import { memoryFile as memfd } from '../store/helpers.js';

const GiB = 2 ** 30;

t.test('a 5 GiB file: commits work, the tail past 4 GiB is reached through windows', async (t) => {
  const size = 5 * GiB;
  const fd = memfd(t, size);
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  t.equal(state.layout.fileSize, size);
  t.equal(state.tailSize, size - state.layout.tailBase);
  t.equal(state.commit(new Uint8Array([1, 2, 3])), 0n, 'the rings work as in any file');

  const at = 4 * GiB + 4093 - state.layout.tailBase; // a tail offset past 4 GiB of file
  state.writeTail(at, new Uint8Array([10, 20, 30, 40]));
  const back = Buffer.alloc(4);
  readSync(fd, back, 0, 4, state.layout.tailBase + at);
  t.same([...back], [10, 20, 30, 40], 'writeTail lands at the file offset past 4 GiB');
  writeSync(fd, Buffer.from([99]), 0, 1, size - 1);
  t.same([...state.readTail(state.tailSize - 2, 2)], [0, 99], 'readTail copies the last bytes of the file');
  const window = state.tailWindow(at, 4096);
  window[4] = 50;
  t.same([...state.readTail(at, 5)], [10, 20, 30, 40, 50], 'a window is the shared memory itself');

  t.throws(() => state.tailWindow(state.tailSize - 1, 2), { name: 'RangeError', message: /^tail bytes \[\d+, \d+\) are outside the \d+-byte tail$/ });
  t.throws(() => state.readTail(-1, 1), { name: 'RangeError' });
  t.throws(() => state.writeTail(state.tailSize, new Uint8Array(1)), { name: 'RangeError' });
  t.throws(() => state.writeTail(0, 'text' as unknown as Uint8Array), { name: 'TypeError', message: 'writeTail() takes a Uint8Array, got string' });
  if (state.tailSize > MAX_VIEW_BYTES) {
    t.throws(() => state.tail, {
      name: 'RangeError',
      message: /^the tail has \d+ bytes, more than one JavaScript buffer holds in Node v[\d.]+ \(4294967296\): use tailWindow\(offset, length\), readTail\(\) or writeTail\(\)$/,
    }, `Node ${process.version}: one buffer cannot span the tail`);
  } else {
    t.equal(state.tail.length, state.tailSize, `Node ${process.version}: tail spans all of it`);
    t.equal(state.tail[at + 4], 50, 'and sees what the windows wrote');
  }
  state.close();
  t.throws(() => state.tailWindow(0, 1), { message: 'this shared state is closed' });
});

t.test('a small file: tail and the windows are the same memory', async (t) => {
  const fd = memfd(t, 1 << 20);
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  t.equal(state.tail.length, state.tailSize);
  state.tail[7] = 77;
  t.equal(state.tailWindow(0, 8)[7], 77);
  state.writeTail(state.tailSize - 1, new Uint8Array([5]));
  t.equal(state.tail[state.tailSize - 1], 5);
  t.same(state.readTail(0, 0), new Uint8Array(0), 'an empty range');
});

t.test('rings larger than one buffer are refused with one line', { skip: MAX_VIEW_BYTES > 2 ** 32 ? `Node ${process.version} views them in one buffer` : false }, async (t) => {
  const fd = memfd(t, 5 * GiB);
  t.throws(() => attach({ fd, env: {}, slots: 2 ** 28, ringSize: 4096 }), new AttachError('BAD_FILE',
    `the shared file on fd ${fd} has a header and rings of ${4096 + 2 ** 32 + 4096} bytes, more than one JavaScript buffer holds in Node ${process.version} (4294967296): configure fewer slots or a smaller ring, or use Node 22 or later`));
  const magic = Buffer.alloc(8);
  readSync(fd, magic, 0, 8, 0);
  t.equal(magic.readBigUInt64LE(), 0n, 'the file was left unconfigured');
});
