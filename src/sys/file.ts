import { c, errno } from './libc.js';
import { SysError } from './errors.js';

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;

/**
 * The next offset at or after `offset` that holds data, or null when only a
 * hole remains (ENXIO). Files that cannot tell report everything as data.
 */
export function seekData(fd: number, offset: number): number | null {
  const r = Number(c.lseek(fd, offset, SEEK_DATA));
  if (r >= 0) return r;
  const e = errno();
  if (e === ENXIO) return null;
  throw new SysError('lseek(SEEK_DATA)', e);
}

/** The start of the next hole at or after `offset` (the end of file counts as one). */
export function seekHole(fd: number, offset: number): number {
  const r = Number(c.lseek(fd, offset, SEEK_HOLE));
  if (r >= 0) return r;
  throw new SysError('lseek(SEEK_HOLE)', errno());
}

/**
 * Copies up to `count` bytes from `inFd` at `offset` to `outFd`'s current
 * position inside the kernel. Returns the number of bytes copied.
 */
export function sendfile(outFd: number, inFd: number, offset: number, count: number): number {
  const off = [BigInt(offset)];
  const r = Number(c.sendfile(outFd, inFd, off, count));
  if (r < 0) throw new SysError('sendfile', errno());
  return r;
}

/**
 * Copies up to `length` bytes from `inFd` at `inOffset` to `outFd` at
 * `outOffset` inside the kernel (copy_file_range(2)), on a thread of
 * libuv's pool so the event loop never waits for it; neither file position
 * moves. Resolves to the bytes copied (0: `inOffset` is at or past the
 * end), or null when the call failed (EXDEV, EINVAL, EOPNOTSUPP where the
 * kernel cannot copy between these files, or a real I/O error): the
 * caller then copies another way, which reports a real error itself
 * (errno is per thread, and the pool thread's is out of reach here).
 */
export function copyFileRange(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number): Promise<number | null> {
  return new Promise((resolve) => {
    c.copy_file_range.async(inFd, [BigInt(inOffset)], outFd, [BigInt(outOffset)], length, 0, (err: unknown, r: number | bigint) => {
      const n = Number(r);
      resolve(err || n < 0 ? null : n);
    });
  });
}

/** copy_file_range(2) on this thread, for a copy too small to be worth a pool thread's round trip; as copyFileRange. */
export function copyFileRangeSync(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number): number | null {
  const n = Number(c.copy_file_range(inFd, [BigInt(inOffset)], outFd, [BigInt(outOffset)], length, 0));
  return n < 0 ? null : n;
}

const SYNC_FILE_RANGE_WRITE = 2;

/**
 * Starts writing back the dirty pages of [offset, offset + length) of `fd`
 * without waiting for them (sync_file_range, SYNC_FILE_RANGE_WRITE), on a
 * worker thread, since it can block while the device queue is full. It
 * makes nothing durable (fsync does, and reports any error); it lets the
 * disk work while the caller still writes, so the final fsync has less
 * left to do. Resolves to whether writeback was started.
 */
export function startWriteback(fd: number, offset: number, length: number): Promise<boolean> {
  return new Promise((resolve) => {
    c.sync_file_range.async(fd, offset, length, SYNC_FILE_RANGE_WRITE, (err: unknown, r: number) => resolve(!err && r === 0));
  });
}
