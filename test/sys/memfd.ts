// memfd_create and file seals, on real memory files.
import t from 'tap';
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, MFD_ALLOW_SEALING, MFD_CLOEXEC, SysError, addSeals, getSeals, memfdCreate,
} from '../../src/sys/index.js';

const O_CLOEXEC = 0o2000000;
const fdFlags = (fd: number): number => parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);

t.test('memfdCreate makes an empty, close-on-exec, sealable memory file', async (t) => {
  const fd = memfdCreate('shm-test');
  t.teardown(() => closeSync(fd));
  t.ok(fstatSync(fd).isFile());
  t.equal(fstatSync(fd).size, 0);
  t.equal(readlinkSync(`/proc/self/fd/${fd}`), '/memfd:shm-test (deleted)');
  t.ok(fdFlags(fd) & O_CLOEXEC, 'close-on-exec: a child gets it only when passed explicitly');
  t.equal(getSeals(fd), 0, 'no seals yet');
});

t.test('F_SEAL_SHRINK forbids shrinking and still allows growing', async (t) => {
  const fd = memfdCreate('seals', MFD_CLOEXEC | MFD_ALLOW_SEALING);
  t.teardown(() => closeSync(fd));
  ftruncateSync(fd, 8192);
  addSeals(fd, F_SEAL_SHRINK);
  t.equal(getSeals(fd), F_SEAL_SHRINK);
  t.throws(() => ftruncateSync(fd, 4096), { code: 'EPERM' }, 'shrinking is refused');
  ftruncateSync(fd, 16384);
  t.equal(fstatSync(fd).size, 16384, 'growing works');
  addSeals(fd, F_SEAL_GROW | F_SEAL_SEAL);
  t.equal(getSeals(fd), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  t.throws(() => addSeals(fd, F_SEAL_WRITE), { name: 'SysError', code: 'EPERM', syscall: 'fcntl(F_ADD_SEALS)' }, 'no more seals after F_SEAL_SEAL');
});

t.test('a memfd made without MFD_ALLOW_SEALING is sealed against sealing', async (t) => {
  const fd = memfdCreate('unsealable', MFD_CLOEXEC);
  t.teardown(() => closeSync(fd));
  t.equal(getSeals(fd), F_SEAL_SEAL);
  t.throws(() => addSeals(fd, F_SEAL_SHRINK), { code: 'EPERM' });
});

t.test('errors carry the errno name and the call', async (t) => {
  const dir = t.testdir({ plain: 'x' });
  const fd = openSync(join(dir, 'plain'), 'r+');
  t.teardown(() => closeSync(fd));
  let caught: unknown;
  try {
    getSeals(fd);
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof SysError);
  t.match(caught, { code: 'EINVAL', syscall: 'fcntl(F_GET_SEALS)', message: 'fcntl(F_GET_SEALS) failed: EINVAL' });
  t.throws(() => memfdCreate('bad-flags', 0x4000_0000), { name: 'SysError', code: 'EINVAL', message: 'memfd_create (bad-flags) failed: EINVAL' });
});
