// flock: one holder per open file description, released on unlock and on close.
import t from 'tap';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { tryLockExclusive, unlock } from '../../src/sys/index.js';

t.test('an exclusive lock excludes every other open of the file', async (t) => {
  const path = join(t.testdir({ lock: '' }), 'lock');
  const a = openSync(path, 'r');
  const b = openSync(path, 'r');
  t.teardown(() => closeSync(a));
  t.equal(tryLockExclusive(a), true);
  t.equal(tryLockExclusive(a), true, 'taking it again through the same description is fine');
  t.equal(tryLockExclusive(b), false, 'another description is refused, without blocking');
  unlock(a);
  t.equal(tryLockExclusive(b), true);
  t.equal(tryLockExclusive(a), false);
  closeSync(b);
  t.equal(tryLockExclusive(a), true, 'closing the holder releases the lock');
});

t.test('a closed descriptor is an EBADF SysError', async (t) => {
  const path = join(t.testdir({ lock: '' }), 'lock');
  const fd = openSync(path, 'r');
  closeSync(fd);
  t.throws(() => tryLockExclusive(fd), { name: 'SysError', code: 'EBADF', syscall: 'flock' });
  t.throws(() => unlock(fd), { name: 'SysError', code: 'EBADF', syscall: 'flock(LOCK_UN)' });
});
