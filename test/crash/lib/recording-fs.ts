// A StoreFs (src/store/fs.ts) that does every operation for real and logs,
// in an OpLog, those that decide what survives a power loss. The store is
// opened with it (SnapshotStore.open(dir, { fs })), so the log holds every
// file-system call the store makes under the log's root.
//
// Bytes can still reach a file without passing here (the capture copies
// into the pending image's fd through src/sys): at each fsync the file's
// real content is compared with the logged one and any difference logged
// as a write just before the fsync, and counted in the log's `bypassed`.
//
// kill() models the process dying (not the machine): every descriptor
// opened here is closed, as the kernel closes a dead process's files (which
// drops its flock), and every later call never settles, so no cleanup code
// of the dead "process" runs.
import fs from 'node:fs';
import { realStoreFs, type StoreFs } from '../../../src/store/index.js';
import { OpLog } from './oplog.js';

type Seen = { kind: 'file'; inode: number } | { kind: 'dir'; path: string } | { kind: 'other' };

export class RecordingFs implements StoreFs {
  readonly log: OpLog;
  readonly #fds = new Map<number, Seen>();
  #killed = false;
  /** When set, called before each operation with its name; a throw stops it (a process killed mid-way). */
  beforeOp: ((name: string) => void) | null = null;

  /** Sabotage, for the tests that show the explorer catches a store that skips them: fsyncs of this kind are neither done nor logged. */
  readonly skip: 'file fsync' | 'directory fsync' | null;

  constructor(log: OpLog, skip: RecordingFs['skip'] = null) {
    this.log = log;
    this.skip = skip;
  }

  /** Closes everything opened here and makes every later call hang: the process is gone. */
  kill(): void {
    this.#killed = true;
    for (const fd of this.#fds.keys()) fs.closeSync(fd);
    this.#fds.clear();
  }

  async #run<T>(name: string, op: () => Promise<T>): Promise<T> {
    if (this.#killed) return new Promise<T>(() => {});
    this.beforeOp?.(name);
    if (this.#killed) return new Promise<T>(() => {});
    const out = await op();
    if (this.#killed) return new Promise<T>(() => {});
    return out;
  }

  open(path: string, flags: number, mode?: number): Promise<number> {
    return this.#run('open', async () => {
      const rel = this.log.relative(path);
      const existed = rel !== null && fs.existsSync(path);
      const fd = await realStoreFs.open(path, flags, mode);
      if (rel === null) this.#fds.set(fd, { kind: 'other' });
      else if ((await realStoreFs.fstat(fd)).isDirectory()) this.#fds.set(fd, { kind: 'dir', path: rel });
      else {
        let inode = this.log.inodeOf(rel);
        if (!existed || inode === undefined) inode = this.log.create(rel, (mode ?? 0o666) & 0o7777 & ~process.umask());
        else if ((flags & fs.constants.O_TRUNC) !== 0) this.log.truncate(inode, 0);
        this.#fds.set(fd, { kind: 'file', inode });
      }
      return fd;
    });
  }

  close(fd: number): Promise<void> {
    return this.#run('close', async () => {
      this.#fds.delete(fd);
      await realStoreFs.close(fd);
    });
  }

  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.#run('read', () => realStoreFs.read(fd, buf, offset, length, position));
  }

  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.#run('write', async () => {
      const n = await realStoreFs.write(fd, buf, offset, length, position);
      const seen = this.#fds.get(fd);
      if (seen?.kind === 'file') this.log.write(seen.inode, position, buf.subarray(offset, offset + n));
      return n;
    });
  }

  fsync(fd: number): Promise<void> {
    return this.#run('fsync', async () => {
      const seen = this.#fds.get(fd);
      if (seen?.kind === 'file') this.log.reconcile(seen.inode, fs.readFileSync(`/proc/self/fd/${fd}`));
      if ((seen?.kind === 'file' && this.skip === 'file fsync') || (seen?.kind === 'dir' && this.skip === 'directory fsync')) return;
      await realStoreFs.fsync(fd);
      if (seen?.kind === 'file') this.log.fsync(seen.inode);
      if (seen?.kind === 'dir') this.log.fsyncDir(seen.path);
    });
  }

  fstat(fd: number): Promise<fs.Stats> {
    return this.#run('fstat', () => realStoreFs.fstat(fd));
  }

  ftruncate(fd: number, length: number): Promise<void> {
    return this.#run('ftruncate', async () => {
      await realStoreFs.ftruncate(fd, length);
      const seen = this.#fds.get(fd);
      if (seen?.kind === 'file') this.log.truncate(seen.inode, length);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.#run('rename', async () => {
      await realStoreFs.rename(from, to);
      const a = this.log.relative(from);
      const b = this.log.relative(to);
      if (a !== null && b !== null) this.log.rename(a, b);
    });
  }

  unlink(path: string): Promise<void> {
    return this.#run('unlink', async () => {
      await realStoreFs.unlink(path);
      const rel = this.log.relative(path);
      if (rel !== null) this.log.unlink(rel);
    });
  }

  mkdir(path: string, mode: number): Promise<void> {
    return this.#run('mkdir', async () => {
      await realStoreFs.mkdir(path, mode);
      const rel = this.log.relative(path);
      if (rel !== null) this.log.mkdir(rel, mode & 0o7777 & ~process.umask());
    });
  }

  readdir(path: string): Promise<string[]> {
    return this.#run('readdir', () => realStoreFs.readdir(path));
  }

  stat(path: string): Promise<fs.Stats> {
    return this.#run('stat', () => realStoreFs.stat(path));
  }
}
