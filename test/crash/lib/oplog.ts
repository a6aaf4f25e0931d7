// The log of what a run did to a directory tree that matters to durability
// after a power loss: namespace changes (mkdir, create, rename, unlink),
// file data (write, truncate), and the two barriers (fsync of a file, fsync
// of a directory). Paths are relative to the recorded root ('' is the root).
// An adapter (see record-fs.ts) fills it while the real operations run on
// real files; model.ts turns any prefix of it into the states a disk may hold.
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

export type Op =
  | { readonly kind: 'mkdir'; readonly path: string; readonly mode: number }
  | { readonly kind: 'create'; readonly path: string; readonly inode: number; readonly mode: number }
  | { readonly kind: 'write'; readonly inode: number; readonly position: number; readonly data: Buffer }
  | { readonly kind: 'truncate'; readonly inode: number; readonly size: number }
  | { readonly kind: 'fsync'; readonly inode: number }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'unlink'; readonly path: string }
  | { readonly kind: 'fsyncDir'; readonly path: string };

/** What the tree held when recording started: all of it durable (as after sync(2)). */
export interface Baseline {
  readonly dirs: ReadonlyMap<string, number>; // path -> mode
  readonly files: ReadonlyMap<string, { readonly inode: number; readonly mode: number; readonly data: Buffer }>;
}

/** A capture the caller was told is durable, after `afterOps` operations of the log. */
export interface Ack {
  readonly sequence: number;
  readonly afterOps: number;
}

/** `data` after a write or truncate. */
export function applyData(data: Buffer, op: Extract<Op, { kind: 'write' | 'truncate' }>, limit = Infinity): Buffer {
  if (op.kind === 'truncate') {
    if (op.size <= data.length) return data.subarray(0, op.size);
    return Buffer.concat([data, Buffer.alloc(op.size - data.length)]);
  }
  const bytes = op.data.subarray(0, Math.min(op.data.length, limit));
  const end = op.position + bytes.length;
  const out = end > data.length ? Buffer.concat([data, Buffer.alloc(end - data.length)]) : Buffer.from(data);
  bytes.copy(out, op.position);
  return out;
}

/** The parent of a relative path ('' for a name in the root). */
export const parentOf = (path: string): string => {
  const d = dirname(path);
  return d === '.' ? '' : d;
};

/**
 * The operation log of one run under `root`, with the live name -> inode
 * table an adapter needs to say which file a write or fsync reached.
 */
export class OpLog {
  readonly root: string;
  readonly ops: Op[] = [];
  readonly acks: Ack[] = [];
  readonly baseline: Baseline;
  /** Bytes found in files at their fsync that no logged write had put there (see reconcile). */
  bypassed = 0;
  readonly #names = new Map<string, number>(); // live file path -> inode
  readonly #content = new Map<number, Buffer>(); // inode -> what the logged operations put in it
  #nextInode = 1;

  constructor(root: string) {
    this.root = root;
    this.baseline = this.#scanBaseline();
  }

  /** `path` relative to the root, or null when it lies outside. */
  relative(path: string): string | null {
    const rel = relative(this.root, path);
    if (rel === '') return '';
    if (rel.startsWith('..') || rel.startsWith(sep) || rel === '..') return null;
    return rel;
  }

  inodeOf(path: string): number | undefined {
    return this.#names.get(path);
  }

  mkdir(path: string, mode: number): void {
    this.ops.push({ kind: 'mkdir', path, mode });
  }

  create(path: string, mode: number): number {
    const inode = this.#nextInode++;
    this.#names.set(path, inode);
    this.#content.set(inode, Buffer.alloc(0));
    this.ops.push({ kind: 'create', path, inode, mode });
    return inode;
  }

  write(inode: number, position: number, data: Uint8Array): void {
    const op = { kind: 'write' as const, inode, position, data: Buffer.from(data) };
    this.ops.push(op);
    this.#content.set(inode, applyData(this.#content.get(inode) ?? Buffer.alloc(0), op));
  }

  truncate(inode: number, size: number): void {
    const op = { kind: 'truncate' as const, inode, size };
    this.ops.push(op);
    this.#content.set(inode, applyData(this.#content.get(inode) ?? Buffer.alloc(0), op));
  }

  /**
   * Logs whatever makes inode's logged content equal `actual` (bytes that
   * reached the file some other way): a truncate to its size and one write
   * of the differing range. Returns the bytes that differed.
   */
  reconcile(inode: number, actual: Buffer): number {
    const logged = this.#content.get(inode) ?? Buffer.alloc(0);
    if (logged.equals(actual)) return 0;
    let first = 0;
    while (first < actual.length && first < logged.length && actual[first] === logged[first]) first++;
    let last = actual.length;
    while (last > first && last <= logged.length && actual[last - 1] === logged[last - 1]) last--;
    if (actual.length !== logged.length) this.truncate(inode, actual.length);
    if (last > first) this.write(inode, first, actual.subarray(first, last));
    const n = Math.max(last - first, 1);
    this.bypassed += n;
    return n;
  }

  fsync(inode: number): void {
    this.ops.push({ kind: 'fsync', inode });
  }

  fsyncDir(path: string): void {
    this.ops.push({ kind: 'fsyncDir', path });
  }

  rename(from: string, to: string): void {
    const inode = this.#names.get(from);
    this.#names.delete(from);
    if (inode === undefined) this.#names.delete(to);
    else this.#names.set(to, inode);
    this.ops.push({ kind: 'rename', from, to });
  }

  unlink(path: string): void {
    this.#names.delete(path);
    this.ops.push({ kind: 'unlink', path });
  }

  /** Marks that a capture of generation `sequence` returned to its caller now. */
  ack(sequence: number): void {
    this.acks.push({ sequence, afterOps: this.ops.length });
  }

  #scanBaseline(): Baseline {
    const dirs = new Map<string, number>();
    const files = new Map<string, { inode: number; mode: number; data: Buffer }>();
    const walk = (rel: string): void => {
      const abs = rel === '' ? this.root : join(this.root, rel);
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        dirs.set(rel, st.mode & 0o7777);
        for (const name of readdirSync(abs).sort()) walk(rel === '' ? name : join(rel, name));
      } else if (st.isFile()) {
        const inode = this.#nextInode++;
        this.#names.set(rel, inode);
        const data = readFileSync(abs);
        this.#content.set(inode, data);
        files.set(rel, { inode, mode: st.mode & 0o7777, data });
      }
    };
    walk('');
    return { dirs, files };
  }
}
