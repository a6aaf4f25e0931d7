import { c, errno } from './libc.js';
import { check } from './errors.js';

export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;

const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;

/** Creates an anonymous memory file; close-on-exec and sealable unless `flags` say otherwise. */
export function memfdCreate(name: string, flags = MFD_CLOEXEC | MFD_ALLOW_SEALING): number {
  const fd = c.memfd_create(name, flags) as number;
  return check('memfd_create', fd, errno(), name);
}

export function addSeals(fd: number, seals: number): void {
  check('fcntl(F_ADD_SEALS)', c.fcntl_int(fd, F_ADD_SEALS, seals) as number, errno());
}

/** The seals on `fd`; EINVAL when the file is not a sealable memfd. */
export function getSeals(fd: number): number {
  return check('fcntl(F_GET_SEALS)', c.fcntl_int(fd, F_GET_SEALS, 0) as number, errno());
}
