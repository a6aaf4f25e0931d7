// Every file-system operation the store performs goes through one StoreFs
// object: the real one by default, or one a test substitutes to record (or
// cut short) the operations, as a power-loss test does. Only the lock's
// flock and the data-run look-ups (lseek SEEK_DATA/SEEK_HOLE) go straight
// to src/sys: neither changes what is on the disk.
import fs from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  close, fstat, fsync, ftruncate, open, readdir, rename, startWriteback, unlink, readFullyWith as readFullyVia, writeFullyWith as writeFullyVia,
} from '../sys/index.js';

/**
 * The store's file-system operations, fd-based like the system calls they
 * stand for (open(2), pread(2), pwrite(2), fsync(2), rename(2), unlink(2),
 * mkdir(2)...). Failures reject with Node's errno errors (`code` ENOSPC...).
 * Positions and lengths are bytes.
 */
export interface StoreFs {
  open(path: string, flags: number, mode?: number): Promise<number>;
  close(fd: number): Promise<void>;
  /** Reads up to `length` bytes at `position` into `buf[offset..]`; resolves to the count read (0 at end of file). */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /**
   * read() on the calling thread, where offered: for small reads from the
   * page cache, whose trip through libuv's thread pool costs several times
   * the read itself (64 KiB: 14 us against 88 us, measured under load).
   */
  readSync?(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** Writes up to `length` bytes of `buf[offset..]` at `position`; resolves to the count written. */
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  /**
   * Starts writing back [offset, offset + length) of `fd` without waiting
   * for it (sync_file_range(2), SYNC_FILE_RANGE_WRITE), where offered: the
   * disk works while the writer goes on, and the fsync that makes the file
   * durable has less left to do. Makes nothing durable and reports no
   * error (fsync does); resolves to whether writeback was started.
   */
  startWriteback?(fd: number, offset: number, length: number): Promise<boolean>;
  fstat(fd: number): Promise<fs.Stats>;
  ftruncate(fd: number, length: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Creates one directory (its parent must exist). */
  mkdir(path: string, mode: number): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** stat(2) of a path, following symbolic links. */
  stat(path: string): Promise<fs.Stats>;
  /** link(2): a second name for an existing file, where offered. */
  link?(existing: string, newPath: string): Promise<void>;
}

/** The real file system, each operation on libuv's thread pool. */
export const realStoreFs: StoreFs = {
  open: (path, flags, mode) => open(path, flags, mode),
  close: (fd) => close(fd),
  read: (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))),
  readSync: (fd, buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position),
  write: (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) => fs.write(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))),
  fsync: (fd) => fsync(fd),
  startWriteback: (fd, offset, length) => startWriteback(fd, offset, length),
  fstat: (fd) => fstat(fd),
  ftruncate: (fd, length) => ftruncate(fd, length),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  mkdir: (path, mode) => fs.promises.mkdir(path, { mode }).then(() => {}),
  readdir: (path) => readdir(path),
  stat: (path) => fs.promises.stat(path),
  link: (existing, newPath) => fs.promises.link(existing, newPath),
};

/** Reads `length` bytes at `position` into `buf[offset..]` through `sfs`; bytes past the end of the file read as zeros. */
export function readFullyWith(sfs: StoreFs, fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  return readFullyVia((f, b, o, l, p) => sfs.read(f, b, o, l, p), fd, buf, offset, length, position);
}

/** Bytes up to which readSmallWith() reads on the calling thread. */
const SMALL_READ = 64 * 1024;

/** readFullyWith() for a read of at most 64 KiB: on the calling thread when `sfs` offers readSync. */
export async function readSmallWith(sfs: StoreFs, fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  const readSync = sfs.readSync?.bind(sfs);
  if (readSync === undefined || length > SMALL_READ) return readFullyWith(sfs, fd, buf, offset, length, position);
  // The same loop as readFullyWith, each read done before it returns.
  return readFullyVia(async (f, b, o, l, p) => readSync(f, b, o, l, p), fd, buf, offset, length, position);
}

/** Writes all `length` bytes of `buf[offset..]` at `position` through `sfs`. */
export function writeFullyWith(sfs: StoreFs, fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  return writeFullyVia((f, b, o, l, p) => sfs.write(f, b, o, l, p), fd, buf, offset, length, position);
}

/** Removes a file if it exists; returns whether it did. */
export async function removeIfPresentWith(sfs: StoreFs, path: string): Promise<boolean> {
  try {
    await sfs.unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** fsync of a directory, which makes the renames, unlinks and creations inside it durable. */
export async function fsyncDirectoryWith(sfs: StoreFs, dir: string): Promise<void> {
  const fd = await sfs.open(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    await sfs.fsync(fd);
  } finally {
    await sfs.close(fd);
  }
}

/**
 * fsync of `dir` and of every directory above it on the same file system,
 * so that what `dir` holds and each entry on the path to it is on the disk,
 * however it got there: a process killed before its own fsync (of a mkdir,
 * or of a commit) leaves names that are visible but not durable, and the
 * next one must not build on them as if they were. Directories on other
 * file systems (above a mount point) hold none of these entries and are
 * left alone; an ancestor this user may not open for reading (EACCES,
 * EPERM) is skipped: this user did not create it.
 */
export async function syncDirectoryPath(sfs: StoreFs, dir: string): Promise<void> {
  const path = resolve(dir);
  const above: string[] = [];
  for (let d = path; dirname(d) !== d; d = dirname(d)) above.push(dirname(d));
  const [device, ...devices] = await Promise.all([path, ...above].map(async (d) => (await sfs.stat(d)).dev));
  const mount = devices.findIndex((dev) => dev !== device);
  // All at once, each on a thread of its own: none depends on another, and
  // the file system may commit them together (this is on the host's path to its child's start).
  await Promise.all([
    fsyncDirectoryWith(sfs, path),
    ...above.slice(0, mount < 0 ? above.length : mount).map(async (d) => {
      try {
        await fsyncDirectoryWith(sfs, d);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EACCES' && code !== 'EPERM') throw err;
      }
    }),
  ]);
}

/**
 * mkdir -p `dir` with `mode`, each new directory made durable by an fsync
 * of its parent (a directory entry is only on the disk once its parent is
 * synced). Returns whether anything was created.
 */
export async function makeDirectoryDurably(sfs: StoreFs, dir: string, mode: number): Promise<boolean> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      await sfs.stat(d);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) throw err;
      missing.unshift(d);
    }
  }
  for (const d of missing) {
    try {
      await sfs.mkdir(d, mode);
    } catch (err) {
      // Made meanwhile by someone else: what matters is that it exists.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await fsyncDirectoryWith(sfs, dirname(d));
  }
  return missing.length > 0;
}

/** A small file's whole contents (at most `max` bytes), read through `sfs`. */
export async function readSmallFile(sfs: StoreFs, path: string, flags: number, max: number): Promise<Buffer> {
  const fd = await sfs.open(path, flags);
  try {
    const buf = Buffer.alloc(max);
    let done = 0;
    for (let n = -1; n !== 0 && done < max; done += n) n = await sfs.read(fd, buf, done, max - done, done);
    return buf.subarray(0, done);
  } finally {
    await sfs.close(fd);
  }
}
