// Unix datagram sockets with SCM_RIGHTS, on real sockets and memfds.
import t from 'tap';
import { closeSync, fstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindDatagram, openDatagramSocket, receiveDatagram, sendDatagram } from '../../src/sys/index.js';
import { cmsgLen, cmsgSpace, layout } from '../../src/sys/socket-abi.js';
import { memfdCreate } from '../../src/sys/index.js';

const name = (): string => `@shm-host-test/dgram/${process.pid}/${Math.random().toString(36).slice(2)}`;

function pair(t: { teardown(fn: () => unknown): void }, address = name()): { rx: number; tx: number; address: string } {
  const rx = openDatagramSocket();
  bindDatagram(rx, address);
  const tx = openDatagramSocket();
  t.teardown(() => {
    closeSync(rx);
    closeSync(tx);
  });
  return { rx, tx, address };
}

t.test('the control-message layout is the LP64 glibc one (x86_64, aarch64)', async (t) => {
  t.equal(layout.msghdr.size, 56);
  t.same([layout.msghdr.name, layout.msghdr.namelen, layout.msghdr.iov, layout.msghdr.iovlen, layout.msghdr.control, layout.msghdr.controllen, layout.msghdr.flags],
    [0, 8, 16, 24, 32, 40, 48]);
  t.equal(layout.cmsghdr.size, 16);
  t.equal(cmsgLen(4), 20, 'CMSG_LEN(sizeof(int))');
  t.equal(cmsgSpace(4), 24, 'CMSG_SPACE(sizeof(int)): padded to size_t');
  t.equal(cmsgSpace(12), 32, 'CMSG_SPACE(3 * sizeof(int))');
});

t.test('bytes and several descriptors travel in one datagram', async (t) => {
  const { rx, tx, address } = pair(t);
  const files = [memfdCreate('a'), memfdCreate('b'), memfdCreate('c')];
  t.teardown(() => files.forEach((fd) => closeSync(fd)));
  const bytes = Uint8Array.from([0, 1, 2, 255, 10, 0]);
  t.equal(sendDatagram(tx, address, bytes, files), bytes.length);
  const got = receiveDatagram(rx)!;
  t.teardown(() => got.fds.forEach((fd) => closeSync(fd)));
  t.same([...got.data], [...bytes], 'binary data, NULs included');
  t.same(got.fds.map((fd) => fstatSync(fd).ino), files.map((fd) => fstatSync(fd).ino), 'the same files, in order');
  t.equal(got.truncated, false);
  t.equal(got.controlTruncated, false);
  t.equal(receiveDatagram(rx), null, 'nothing more queued');
});

t.test('an empty datagram and one longer than the buffer', async (t) => {
  const { rx, tx, address } = pair(t);
  sendDatagram(tx, address, '');
  t.same(receiveDatagram(rx), { data: Buffer.alloc(0), fds: [], truncated: false, controlTruncated: false });
  sendDatagram(tx, address, 'x'.repeat(100));
  const got = receiveDatagram(rx, 10)!;
  t.equal(got.data.toString(), 'x'.repeat(10));
  t.equal(got.truncated, true);
});

t.test('more descriptors than the receiver has room for are cut off and said so', async (t) => {
  const { rx, tx, address } = pair(t);
  const files = [memfdCreate('a'), memfdCreate('b'), memfdCreate('c')];
  t.teardown(() => files.forEach((fd) => closeSync(fd)));
  sendDatagram(tx, address, 'x', files);
  // Room for one int is 8 bytes of control data on LP64: two descriptors fit, the third is dropped.
  const got = receiveDatagram(rx, 16, 1)!;
  t.teardown(() => got.fds.forEach((fd) => closeSync(fd)));
  t.equal(got.controlTruncated, true);
  t.ok(got.fds.length < 3);
});

t.test('a filesystem socket path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shm-dgram-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { rx, tx, address } = pair(t, join(dir, 'sock'));
  t.ok(fstatSync(rx).isSocket());
  sendDatagram(tx, address, 'hello');
  t.equal(receiveDatagram(rx)!.data.toString(), 'hello');
});

t.test('errors are errno-named', async (t) => {
  const fd = openDatagramSocket();
  t.teardown(() => closeSync(fd));
  t.throws(() => sendDatagram(fd, '/nonexistent/shm-host/sock', 'x'), { name: 'SysError', code: 'ENOENT', syscall: 'sendmsg' });
  t.throws(() => sendDatagram(fd, 'relative/sock', 'x'), { code: 'EAFNOSUPPORT' });
  t.throws(() => sendDatagram(fd, `/${'x'.repeat(107)}`, 'x'), { code: 'ENAMETOOLONG' }, '108 bytes with the NUL do not fit');
  t.throws(() => sendDatagram(fd, '@', 'x'), { code: 'EINVAL' }, 'an empty abstract name is refused');
  const taken = name();
  const a = openDatagramSocket();
  t.teardown(() => closeSync(a));
  bindDatagram(a, taken);
  t.throws(() => bindDatagram(fd, taken), { code: 'EADDRINUSE', syscall: 'bind' });
  t.throws(() => receiveDatagram(1 << 30), { code: 'EBADF', syscall: 'recvmsg' });
});
