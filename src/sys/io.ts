// File-descriptor I/O on libuv's thread pool, so that copying gigabytes never
// blocks the caller's event loop, with the loops that short reads and short
// writes need.
import fs from 'node:fs';
import { promisify } from 'node:util';

// The fd-based operations, promised (each runs on the thread pool).
export const open = promisify(fs.open);
export const close = promisify(fs.close);
export const fsync = promisify(fs.fsync);
export const fstat = promisify(fs.fstat);
export const ftruncate = promisify(fs.ftruncate);
export const rename = promisify(fs.rename);
export const unlink = promisify(fs.unlink);
export const readdir = promisify(fs.readdir);

const read = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));

const write = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => fs.write(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));

/** A positioned read or write: resolves to the bytes moved (pread(2), pwrite(2)). */
export type PositionedIo = (fd: number, buf: Uint8Array, offset: number, length: number, position: number) => Promise<number>;

/**
 * Reads `length` bytes at `position` into `buf[offset..]`. Bytes past the end
 * of the file read as zeros (the buffer is filled), so a file that is shorter
 * than expected gives a defined result instead of stale buffer contents.
 */
export function readFully(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  return readFullyWith(read, fd, buf, offset, length, position);
}

/** readFully through the positioned read `read` (a substitute file system's, say). */
export async function readFullyWith(read: PositionedIo, fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await read(fd, buf, offset + done, length - done, position + done);
    if (n === 0) {
      buf.fill(0, offset + done, offset + length);
      return;
    }
    done += n;
  }
}

/** Writes all `length` bytes of `buf[offset..]` at `position` (a full disk surfaces as ENOSPC). */
export function writeFully(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  return writeFullyWith(write, fd, buf, offset, length, position);
}

/** writeFully through the positioned write `write`. */
export async function writeFullyWith(write: PositionedIo, fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await write(fd, buf, offset + done, length - done, position + done);
    if (n === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += n;
  }
}

/** Removes a file if it exists; returns whether it did. */
export async function removeIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** fsync of a directory, which makes the renames and unlinks inside it durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const fd = await open(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    await fsync(fd);
  } finally {
    await close(fd);
  }
}
