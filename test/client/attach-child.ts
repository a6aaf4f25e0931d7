// attach() in a real child started the way the host starts it (fd 3,
// LISTEN_* and the exec trampoline), through the counter fixture: the happy
// path, and each way of starting it wrong gives one line on stderr naming
// the problem and the fix, exit status 1, and no stack trace.
import t, { type Test } from 'tap';
import { closeSync, ftruncateSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PAGE_SIZE } from '../../src/format/index.js';
import { Mapping, memfdCreate } from '../../src/sys/index.js';
import { spawnShared } from '../../fixtures/lib/shared-child.js';

const counter = fileURLToPath(new URL('../../fixtures/counter.js', import.meta.url));

function memfd(t: Test, size: number): number {
  const fd = memfdCreate('attach-child');
  ftruncateSync(fd, size);
  t.teardown(() => closeSync(fd));
  return fd;
}

async function fails(t: Test, options: Parameters<typeof spawnShared>[2], args: string[], message: RegExp): Promise<void> {
  const result = await spawnShared(process.execPath, [counter, '--count', '1', ...args], options).exited;
  t.equal(result.code, 1, 'exit status 1');
  t.equal(result.stdout, '', 'nothing on stdout');
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
  t.match(lines[0], message);
  t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
}

t.test('the counter attaches on fd 3, resumes where it left off', async (t) => {
  const fd = memfd(t, 1 << 20);
  const first = await spawnShared(process.execPath, [counter, '--count', '5'], { fd }).exited;
  t.same([first.code, first.stdout, first.stderr], [0, 'counter: resumed at 0\n', '']);
  const second = await spawnShared(process.execPath, [counter, '--count', '2'], { fd }).exited;
  t.same([second.code, second.stdout], [0, 'counter: resumed at 5\n']);
  // Read the latest value back in this process from the file itself.
  const m = Mapping.map(fd, 1 << 20);
  t.teardown(() => m.close());
  const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset);
  t.equal(dv.getBigUint64(24, true), 7n * 8n, 'seven 8-byte records written');
});

t.test('LISTEN_PID of another process', async (t) => {
  const fd = memfd(t, 1 << 20);
  await fails(t, { fd, listen: { LISTEN_PID: '1' } }, [], /^counter: LISTEN_PID=1 is not this process \(\d+\): the shared file was meant for another process; start the program under the host: shm-host -- <command>/);
});

t.test('LISTEN_FDS set but nothing passed on fd 3', async (t) => {
  await fails(t, { fd: null }, [], /^counter: file descriptor 3 is not a file \(it is [^)]*\): the shared file was not passed to this process; start it with shm-host -- <command>$/);
});

t.test('the passed fd has another name', async (t) => {
  const fd = memfd(t, 1 << 20);
  await fails(t, { fd, listen: { LISTEN_FDNAMES: 'stored' } }, [], /^counter: none of the 1 passed file descriptors is named SHM_SHARED_FD \(LISTEN_FDNAMES=stored\)/);
});

t.test('no LISTEN_* variables at all', async (t) => {
  const fd = memfd(t, 1 << 20);
  await fails(t, { fd, listen: { LISTEN_PID: undefined, LISTEN_FDS: undefined, LISTEN_FDNAMES: undefined } }, [], /^counter: no shared memory file was passed to this process \(LISTEN_FDS is not set\): start the program under the host: shm-host -- <command>, or pass \{ standalone: true \}/);
});

t.test('a file with a foreign magic', async (t) => {
  const fd = memfd(t, 1 << 20);
  const m = Mapping.map(fd, 1 << 20, { writable: true });
  m.bytes.set([1, 2, 3, 4, 5, 6, 7, 8]);
  m.close();
  await fails(t, { fd }, [], /^counter: the shared file on fd 3 cannot be used: not a shm-host file: magic is 0x807060504030201, expected 0x96c2a6f4b68519b3$/);
});

t.test('a file too small', async (t) => {
  const fd = memfd(t, PAGE_SIZE);
  await fails(t, { fd }, [], /^counter: the shared file on fd 3 has 4096 bytes, too small for a header, an entry ring and a data ring \(at least 12288\): start the host with a larger shared file size$/);
});

t.test('a file holding another program\'s records', async (t) => {
  const fd = memfd(t, 1 << 20);
  const records = fileURLToPath(new URL('../../fixtures/records.js', import.meta.url));
  t.equal((await spawnShared(process.execPath, [records, '--count', '3'], { fd }).exited).code, 0);
  await fails(t, { fd }, [], /^counter: the shared file's latest record has \d+ bytes, not an 8-byte counter/);
});

t.test('--standalone runs without a shared file', async (t) => {
  const result = await spawnShared(process.execPath, [counter, '--standalone', '--count', '100', '--rate', 'max'], {
    listen: { LISTEN_PID: undefined, LISTEN_FDS: undefined, LISTEN_FDNAMES: undefined },
  }).exited;
  t.same([result.code, result.stdout, result.stderr], [0, 'counter: resumed at 0\n', '']);
});
