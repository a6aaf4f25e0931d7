// Copying a memory file into another (how a dead child's memory reaches its
// successor): every byte, holes kept as holes.
import t from 'tap';
import { fstatSync, writeSync } from 'node:fs';
import { dataRuns } from '../../src/sys/index.js';
import { copyMemoryFile } from '../../src/live/index.js';
import { fileContents as contents, memoryFile } from '../store/helpers.js';

const dataBytes = (fd: number): number => dataRuns(fd, 0, fstatSync(fd).size).reduce((n, [a, b]) => n + b - a, 0);

t.test('a sparse file is copied exactly and stays sparse', async (t) => {
  const from = memoryFile(t, 64 << 20);
  for (const [at, len, byte] of [[0, 4096, 1], [5 << 20, 3 << 20, 2], [(64 << 20) - 10, 10, 3]] as const) {
    writeSync(from, Buffer.alloc(len, byte), 0, len, at);
  }
  const to = memoryFile(t, 0);
  const result = await copyMemoryFile(from, to);
  t.same(result, { size: 64 << 20, bytesCopied: dataBytes(from) });
  t.ok(contents(to).equals(contents(from)), 'byte for byte');
  t.same(dataRuns(to, 0, 64 << 20), dataRuns(from, 0, 64 << 20), 'the same pages hold data; holes stay holes');
});

t.test('into a larger file that already holds data: the same bytes, zeros beyond', async (t) => {
  const from = memoryFile(t, 1 << 20);
  writeSync(from, Buffer.alloc(1000, 9), 0, 1000, 300_000);
  const to = memoryFile(t, 3 << 20);
  writeSync(to, Buffer.alloc(3 << 20, 0xff), 0, 3 << 20, 0);
  const result = await copyMemoryFile(from, to);
  t.equal(result.size, 3 << 20, 'a larger destination is not shrunk');
  const copied = contents(to);
  t.ok(copied.subarray(0, 1 << 20).equals(contents(from)), 'the source\'s bytes, its holes as zeros');
  t.ok(copied.subarray(1 << 20).every((b) => b === 0), 'zeros past the source');
});
