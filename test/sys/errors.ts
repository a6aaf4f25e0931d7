// SysError names errno values the way Node's own errors do.
import t from 'tap';
import { SysError, errnoName } from '../../src/sys/index.js';

t.test('errno names', async (t) => {
  t.equal(errnoName(1), 'EPERM');
  t.equal(errnoName(9), 'EBADF');
  t.equal(errnoName(11), 'EAGAIN', 'the usual name where two share a number');
  t.equal(errnoName(99999), 'errno 99999');
  const err = new SysError('mmap', 13, 'fd 3, 4096 bytes');
  t.match(err, { name: 'SysError', code: 'EACCES', errno: 13, syscall: 'mmap', message: 'mmap (fd 3, 4096 bytes) failed: EACCES' });
  t.ok(err instanceof Error);
});
