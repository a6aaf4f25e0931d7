// Descriptor flags (fcntl F_GETFD/F_SETFD), which Node does not expose.
import { c, errno } from './libc.js';
import { check } from './errors.js';

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** True when `fd` is closed on exec. Throws SysError (EBADF for a closed descriptor). */
export function isCloseOnExec(fd: number): boolean {
  return (check('fcntl(F_GETFD)', c.fcntl_int(fd, F_GETFD, 0) as number, errno(), `fd ${fd}`) & FD_CLOEXEC) !== 0;
}

/**
 * Marks `fd` close-on-exec, as sd_listen_fds(3) does with every descriptor
 * a service manager passes: a child must get them only when handed one
 * explicitly. Throws SysError (EBADF for a closed descriptor).
 */
export function setCloseOnExec(fd: number): void {
  const flags = check('fcntl(F_GETFD)', c.fcntl_int(fd, F_GETFD, 0) as number, errno(), `fd ${fd}`);
  if ((flags & FD_CLOEXEC) === 0) check('fcntl(F_SETFD)', c.fcntl_int(fd, F_SETFD, flags | FD_CLOEXEC) as number, errno(), `fd ${fd}`);
}
