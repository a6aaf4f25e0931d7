// What a disk may hold after power is lost at operation `p` of a log, under
// the rules POSIX guarantees (and the ALICE study found portable):
//  - a file's data is durable as of its last fsync; writes and truncations
//    after it may be lost, kept, kept in part (in order, or the last one
//    torn), or leave garbage in the pages they touched;
//  - a mkdir, create, rename or unlink is durable once the directory that
//    holds the name (both, for a rename) was fsynced after it; until then
//    each one independently may or may not have happened. They are replayed
//    in log order, so a chosen one whose source is gone has no effect.
// File systems promise more (ext4's data=ordered, journals that keep
// renames in order); a store that survives every state here survives them.
import { digestOf } from './digest.js';
import { type Baseline, type Op, applyData, parentOf } from './oplog.js';

/** A directory tree as a disk holds it: what materialize.ts writes out. */
export interface TreeState {
  readonly dirs: ReadonlyMap<string, number>; // path -> mode
  readonly files: ReadonlyMap<string, { readonly mode: number; readonly data: Buffer }>;
}

export interface CrashState extends TreeState {
  /** Operations of the log that had returned when the power went. */
  readonly point: number;
  /** Which of the undecided operations happened, and how each unsynced file ended: for failure messages. */
  readonly label: string;
}

type Variant = 'drop' | 'keep' | 'prefix' | 'torn' | 'garbage';
const NAMESPACE = new Set(['mkdir', 'create', 'rename', 'unlink']);

/** The directories whose fsync makes namespace operation `op` durable. */
function homes(op: Op): string[] {
  switch (op.kind) {
    case 'rename': return [parentOf(op.from), parentOf(op.to)];
    case 'mkdir': case 'create': case 'unlink': return [parentOf(op.path)];
    default: return [];
  }
}

interface FileHistory {
  readonly durable: Buffer;
  /** Data operations after the last fsync (before the crash point). */
  readonly pending: Array<Extract<Op, { kind: 'write' | 'truncate' }>>;
}

const replay = (start: Buffer, ops: FileHistory['pending']): Buffer => ops.reduce((d, op) => applyData(d, op), start);

/** The contents one unsynced file may have, by variant; identical outcomes kept once. */
function variantsOf(h: FileHistory): Map<Variant, Buffer> {
  const out = new Map<Variant, Buffer>();
  const add = (v: Variant, data: Buffer): void => {
    for (const seen of out.values()) if (seen.equals(data)) return;
    out.set(v, data);
  };
  add('drop', h.durable);
  const all = replay(h.durable, h.pending);
  add('keep', all);
  if (h.pending.length >= 2) add('prefix', replay(h.durable, h.pending.slice(0, Math.ceil(h.pending.length / 2))));
  const last = h.pending[h.pending.length - 1]!;
  if (last.kind === 'write' && last.data.length > 1) {
    const half = last.data.length > 8192 ? Math.floor(last.data.length / 2 / 4096) * 4096 : Math.floor(last.data.length / 2);
    add('torn', applyData(replay(h.durable, h.pending.slice(0, -1)), last, half));
  }
  // Garbage: the final size, but the pages the unsynced writes touched hold junk.
  const junk = Buffer.from(all);
  for (const op of h.pending) {
    if (op.kind !== 'write') continue;
    const from = Math.floor(op.position / 4096) * 4096;
    const to = Math.min(junk.length, Math.ceil((op.position + op.data.length) / 4096) * 4096);
    for (let i = from; i < to; i++) junk[i] = (i * 131 + 0x5a) & 0xff;
  }
  add('garbage', junk);
  return out;
}

/** A small deterministic random source (mulberry32), so a failing state can be found again. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The distinct crash states at `point` (operations [0, point) returned), at
 * most `limit` of them: every combination when there are that few, else the
 * structured ones (nothing lost; everything undecided lost; the undecided
 * namespace operations persisted in order up to each one; each one alone
 * lost; each unsynced file in each of its variants) and then random ones.
 */
export function crashStates(ops: readonly Op[], baseline: Baseline, point: number, limit: number, seed: number): CrashState[] {
  const lastDirSync = new Map<string, number>();
  const lastFileSync = new Map<number, number>();
  for (let i = 0; i < point; i++) {
    const op = ops[i]!;
    if (op.kind === 'fsyncDir') lastDirSync.set(op.path, i);
    if (op.kind === 'fsync') lastFileSync.set(op.inode, i);
  }
  const undecided: number[] = [];
  for (let i = 0; i < point; i++) {
    const op = ops[i]!;
    if (!NAMESPACE.has(op.kind)) continue;
    if (!homes(op).every((d) => (lastDirSync.get(d) ?? -1) > i)) undecided.push(i);
  }
  // File data: the durable content and what came after the last fsync.
  const durable = new Map<number, Buffer>([...baseline.files.values()].map((f) => [f.inode, f.data]));
  const pending = new Map<number, FileHistory['pending']>();
  for (let i = 0; i < point; i++) {
    const op = ops[i]!;
    if (op.kind === 'create') durable.set(op.inode, Buffer.alloc(0));
    if (op.kind !== 'write' && op.kind !== 'truncate') continue;
    if ((lastFileSync.get(op.inode) ?? -1) > i) durable.set(op.inode, applyData(durable.get(op.inode) ?? Buffer.alloc(0), op));
    else pending.set(op.inode, [...(pending.get(op.inode) ?? []), op]);
  }
  const dirty = [...pending.keys()];
  const variants = dirty.map((inode) => variantsOf({ durable: durable.get(inode)!, pending: pending.get(inode)! }));
  const radix = [...undecided.map(() => 2), ...variants.map((v) => v.size)];
  const choices = pickChoices(radix, undecided.length, limit, seed);

  const out: CrashState[] = [];
  const seen = new Set<string>();
  for (const choice of choices) {
    const state = build(ops, baseline, point, new Set(undecided.filter((_, j) => choice[j] === 0)), durable, dirty, variants, choice.slice(undecided.length));
    const key = keyOf(state);
    if (seen.has(key)) continue;
    seen.add(key);
    const lost = undecided.filter((_, j) => choice[j] === 0).map((i) => describe(ops[i]!));
    const files = dirty.map((inode, j) => `#${inode} ${[...variants[j]!.keys()][choice[undecided.length + j]!]}`);
    out.push({ ...state, point, label: `lost: [${lost.join(', ')}] unsynced data: [${files.join(', ')}]` });
  }
  return out;
}

/** Mixed-radix choice vectors, at most `limit`: all of them, or structured ones then random. */
function pickChoices(radix: number[], namespaceDims: number, limit: number, seed: number): number[][] {
  const total = radix.reduce((a, r) => a * r, 1);
  if (total <= limit) {
    const all: number[][] = [];
    for (let n = 0; n < total; n++) {
      let rest = n;
      all.push(radix.map((r) => { const d = rest % r; rest = Math.floor(rest / r); return d; }));
    }
    return all;
  }
  const keepAll = radix.map((r) => Math.min(1, r - 1)); // namespace operations happened; data 'keep' (variant 1)
  const loseAll = radix.map(() => 0);
  const out: number[][] = [keepAll, loseAll];
  for (let j = 0; j < namespaceDims; j++) {
    out.push(radix.map((_, d) => (d < namespaceDims ? (d < j ? 1 : 0) : 0)));
    out.push(radix.map((_, d) => (d < namespaceDims ? (d < j ? 1 : 0) : 1)));
    out.push(keepAll.map((v, d) => (d === j ? 0 : v)));
  }
  for (let j = namespaceDims; j < radix.length; j++) {
    for (let v = 0; v < radix[j]!; v++) out.push(keepAll.map((k, d) => (d === j ? v : k)));
  }
  const random = seeded(seed);
  while (out.length < limit * 2) out.push(radix.map((r) => Math.floor(random() * r)));
  const unique = new Map(out.map((c) => [c.join(','), c]));
  return [...unique.values()].slice(0, limit);
}

function build(
  ops: readonly Op[], baseline: Baseline, point: number, lost: Set<number>, durable: Map<number, Buffer>,
  dirty: number[], variants: Array<Map<Variant, Buffer>>, fileChoice: number[],
): TreeState {
  const dirs = new Map(baseline.dirs);
  const names = new Map<string, { inode: number; mode: number }>();
  for (const [path, f] of baseline.files) names.set(path, { inode: f.inode, mode: f.mode });
  const exists = (p: string): boolean => dirs.has(p) || names.has(p);
  for (let i = 0; i < point; i++) {
    const op = ops[i]!;
    if (!NAMESPACE.has(op.kind)) continue;
    if (lost.has(i)) continue;
    if (op.kind === 'mkdir') {
      if (dirs.has(parentOf(op.path)) && !exists(op.path)) dirs.set(op.path, op.mode);
    } else if (op.kind === 'create') {
      if (dirs.has(parentOf(op.path)) && !exists(op.path)) names.set(op.path, { inode: op.inode, mode: op.mode });
    } else if (op.kind === 'rename') {
      const f = names.get(op.from);
      if (f !== undefined && dirs.has(parentOf(op.to)) && !dirs.has(op.to)) {
        names.delete(op.from);
        names.set(op.to, f);
      }
    } else if (op.kind === 'unlink') {
      names.delete(op.path);
    }
  }
  const files = new Map<string, { mode: number; data: Buffer }>();
  for (const [path, f] of names) {
    const j = dirty.indexOf(f.inode);
    const data = j < 0 ? durable.get(f.inode)! : [...variants[j]!.values()][fileChoice[j]!]!;
    files.set(path, { mode: f.mode, data });
  }
  return { dirs, files };
}

function keyOf(state: TreeState): string {
  const dirs = [...state.dirs].map(([p, m]) => `d ${p} ${m}`);
  const files = [...state.files].map(([p, f]) => `f ${p} ${f.mode} ${f.data.length} ${digestOf(f.data)}`);
  return [...dirs, ...files].sort().join('\n');
}

export function describe(op: Op): string {
  switch (op.kind) {
    case 'rename': return `rename ${op.from} -> ${op.to}`;
    case 'write': return `write #${op.inode} @${op.position} +${op.data.length}`;
    case 'truncate': return `truncate #${op.inode} ${op.size}`;
    case 'fsync': return `fsync #${op.inode}`;
    case 'create': return `create ${op.path} #${op.inode}`;
    case 'fsyncDir': return `fsync dir ${op.path === '' ? '.' : op.path}`;
    default: return `${op.kind} ${op.path}`;
  }
}
