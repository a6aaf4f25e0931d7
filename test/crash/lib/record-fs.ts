// Recording the store's file-system operations while they run for real.
//
// Phase 1 adapter: the store calls node:fs (through src/store/io.ts, which
// binds fs.open & co. when it loads), so this module wraps those functions
// on the shared `fs` object. It must be imported before anything that
// loads the store; the explorer checks that a scenario's log is not empty.
// Operations on paths outside the active log's root pass through unseen.
import fs from 'node:fs';
import { OpLog } from './oplog.js';

type Callback = (err: NodeJS.ErrnoException | null, ...rest: any[]) => void;

let active: OpLog | null = null;
/** fd -> what it is, for the fd-based operations. */
const fds = new Map<number, { kind: 'file'; inode: number } | { kind: 'dir'; path: string }>();

/** Starts recording into `log` (one at a time); returns the function that stops it. */
export function record(log: OpLog): () => void {
  if (active !== null) throw new Error('a recording is already running');
  active = log;
  fds.clear();
  return () => {
    active = null;
    fds.clear();
  };
}

const original = {
  open: fs.open, openSync: fs.openSync, write: fs.write, fsync: fs.fsync, fdatasync: fs.fdatasync,
  ftruncate: fs.ftruncate, rename: fs.rename, unlink: fs.unlink, mkdirSync: fs.mkdirSync,
  writeFileSync: fs.writeFileSync, close: fs.close, closeSync: fs.closeSync,
};

const rel = (path: unknown): string | null => (active !== null && typeof path === 'string' ? active.relative(path) : null);
const existed = (path: string): boolean => fs.existsSync(path);

/** What an open of `path` with `flags` did, once it succeeded with `fd`. */
function opened(path: string, flags: number, mode: number, wasThere: boolean, fd: number): void {
  const r = rel(path);
  if (r === null || active === null) return;
  if ((flags & fs.constants.O_DIRECTORY) !== 0 || fs.fstatSync(fd).isDirectory()) {
    fds.set(fd, { kind: 'dir', path: r });
    return;
  }
  let inode = active.inodeOf(r);
  if (!wasThere || inode === undefined) inode = active.create(r, mode & 0o7777);
  else if ((flags & fs.constants.O_TRUNC) !== 0) active.truncate(inode, 0);
  fds.set(fd, { kind: 'file', inode });
}

const flagsOf = (f: unknown): number => (typeof f === 'number' ? f : f === undefined ? fs.constants.O_RDONLY : -1);

function wrapCallback(args: unknown[], after: (...rest: any[]) => void): unknown[] {
  const cb = args[args.length - 1] as Callback;
  return [...args.slice(0, -1), (err: NodeJS.ErrnoException | null, ...rest: any[]) => {
    if (err === null) after(...rest);
    cb(err, ...rest);
  }];
}

const patched = {
  open(path: string, ...rest: unknown[]) {
    const flags = flagsOf(typeof rest[0] === 'function' ? undefined : rest[0]);
    const mode = typeof rest[1] === 'number' ? rest[1] : 0o666;
    if (rel(path) === null || flags < 0) return (original.open as any)(path, ...rest);
    const was = existed(path);
    return (original.open as any)(path, ...wrapCallback(rest, (fd: number) => opened(path, flags, mode, was, fd)));
  },
  openSync(path: string, flags?: unknown, mode?: unknown) {
    const f = flagsOf(flags);
    if (rel(path) === null || f < 0) return (original.openSync as any)(path, flags, mode);
    const was = existed(path);
    const fd = (original.openSync as any)(path, flags, mode) as number;
    opened(path, f, typeof mode === 'number' ? mode : 0o666, was, fd);
    return fd;
  },
  write(fd: number, buf: Uint8Array, ...rest: unknown[]) {
    const seen = fds.get(fd);
    const offset = rest[0] as number;
    const position = rest[2];
    if (seen?.kind !== 'file' || typeof position !== 'number' || !(buf instanceof Uint8Array)) return (original.write as any)(fd, buf, ...rest);
    return (original.write as any)(fd, buf, ...wrapCallback(rest, (n: number) => active?.write(seen.inode, position, buf.subarray(offset, offset + n))));
  },
  fsync(fd: number, cb: Callback) {
    return original.fsync(fd, (err) => {
      const seen = fds.get(fd);
      if (err === null && active !== null && seen !== undefined) {
        if (seen.kind === 'file') active.fsync(seen.inode);
        else active.fsyncDir(seen.path);
      }
      cb(err);
    });
  },
  fdatasync(fd: number, cb: Callback) {
    return patched.fsync(fd, cb);
  },
  ftruncate(fd: number, ...rest: unknown[]) {
    const seen = fds.get(fd);
    const len = typeof rest[0] === 'number' ? rest[0] : 0;
    if (seen?.kind !== 'file') return (original.ftruncate as any)(fd, ...rest);
    return (original.ftruncate as any)(fd, ...wrapCallback(rest, () => active?.truncate(seen.inode, len)));
  },
  rename(from: string, to: string, cb: Callback) {
    const a = rel(from);
    const b = rel(to);
    return original.rename(from, to, (err) => {
      if (err === null && a !== null && b !== null) active?.rename(a, b);
      cb(err);
    });
  },
  unlink(path: string, cb: Callback) {
    const r = rel(path);
    return original.unlink(path, (err) => {
      if (err === null && r !== null) active?.unlink(r);
      cb(err);
    });
  },
  mkdirSync(path: string, options?: { recursive?: boolean; mode?: number } | number) {
    const r = rel(path);
    if (r === null) return (original.mkdirSync as any)(path, options);
    const mode = typeof options === 'number' ? options : options?.mode ?? 0o777;
    // The directories this call will create, outermost first.
    const missing: string[] = [];
    for (let p = path; !existed(p); p = p.slice(0, p.lastIndexOf('/')) || '/') missing.unshift(p);
    const out = (original.mkdirSync as any)(path, options);
    for (const p of missing) {
      const m = rel(p);
      if (m !== null && m !== '') active?.mkdir(m, mode & 0o7777 & ~process.umask());
    }
    return out;
  },
  writeFileSync(path: unknown, data: unknown, options?: unknown) {
    const r = rel(path);
    if (r === null || active === null || typeof path !== 'string') return (original.writeFileSync as any)(path, data, options);
    const was = existed(path);
    (original.writeFileSync as any)(path, data, options);
    const mode = typeof options === 'object' && options !== null && 'mode' in options ? Number((options as { mode: number }).mode) : 0o666;
    let inode = active.inodeOf(r);
    if (!was || inode === undefined) inode = active.create(r, mode & 0o7777);
    else active.truncate(inode, 0);
    active.write(inode, 0, typeof data === 'string' ? Buffer.from(data) : Buffer.from(data as Uint8Array));
  },
  close(fd: number, cb: Callback) {
    fds.delete(fd);
    return original.close(fd, cb);
  },
  closeSync(fd: number) {
    fds.delete(fd);
    return original.closeSync(fd);
  },
};

Object.assign(fs, patched);
