// The crash-point explorer: runs a scenario once on real files while
// recording, then, for every operation and every (bounded) combination of
// what the disk kept, writes the crash state out and checks it as the next
// host would. A scenario is one small function (see scenarios.ts).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SnapshotStore, parseGenerationFileName, realStoreFs, type ChainLimits, type Generation, type StoreFs } from '../../../src/store/index.js';
import { capturedImage } from './image-of.js';
import { materialize } from './materialize.js';
import { crashStates, describe } from './model.js';
import { type Expectation, checkAsNextHost } from './next-host.js';
import { type LiveImage, liveImage } from './live-image.js';
import { OpLog, type Op } from './oplog.js';
import { RecordingFs } from './recording-fs.js';

/** What a scenario's stores write unless it says otherwise: full generations only. */
export const FULL_ONLY: Partial<ChainLimits> = { maxChain: 0 };

/** Where scratch trees go: tmpfs when there is one (fsync costs nothing there, and the model decides durability). */
const SCRATCH = process.env.CRASH_SCRATCH ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
/** Crash states checked at once. */
const CONCURRENCY = Number(process.env.CRASH_CONCURRENCY ?? 4);

export interface ScenarioContext {
  /** The recorded tree; the store directory is `dir`, inside it. */
  readonly root: string;
  dir: string;
  /** A directory outside the recorded tree (inputs such as export files). */
  readonly aside: string;
  readonly keep: number;
  /** The chain limits of the scenario's stores (FULL_ONLY unless it says). */
  readonly chain: Partial<ChainLimits>;
  readonly live: LiveImage;
  /**
   * Records what generation `g` holds (the image its chain stands for, read
   * through the store) and, when `ack`, that its writer was told it is
   * durable now.
   */
  captured(g: Generation, ack?: boolean): Promise<void>;
  /** Records that what the run made of `sequence` was acknowledged now (for scenarios with a check of their own). */
  ack(sequence: number): void;
  /** The file system the store must use: the real one in setup(), a recording one in run(). */
  readonly fs: StoreFs;
  /** Opens the store in `dir` as a host does (`keep` by default), on `fs`. */
  open(keep?: number): Promise<SnapshotStore>;
  /** A recording file system of its own (for a second "process"; see RecordingFs.kill), during run() only. */
  process(): RecordingFs;
}

export interface Scenario {
  readonly name: string;
  readonly keep?: number;
  /** Its share of the per-point bound explore() is given (default 1): a scenario whose check costs more explores fewer states per point. */
  readonly perPointShare?: number;
  /** Chain limits for every store the scenario opens (default FULL_ONLY). */
  readonly chain?: Partial<ChainLimits>;
  /** Before recording: whatever it leaves counts as durable (as after sync). */
  setup?(ctx: ScenarioContext): Promise<void>;
  /** The recorded part. */
  run(ctx: ScenarioContext): Promise<void>;
  /**
   * The promises to check in a crash state written out under `base` (the
   * recorded root's copy), `acked` the newest acknowledged sequence, `next`
   * what the next host's check needs; one line per broken promise.
   * Default: the next host's (next-host.ts) on the store directory.
   */
  check?(base: string, acked: number | null, next: Expectation): Promise<string[]>;
}

/** For each generation of `storeDir` whose manifest the run unlinked: the index of the first such operation. */
function manifestUnlinks(ops: readonly Op[], storeDir: string): Map<number, number> {
  const at = new Map<number, number>();
  ops.forEach((op, i) => {
    if (op.kind !== 'unlink' || dirname(op.path) !== storeDir) return;
    const name = parseGenerationFileName(basename(op.path));
    if (name?.kind === 'manifest' && !at.has(name.sequence)) at.set(name.sequence, i);
  });
  return at;
}

export interface Exploration {
  readonly scenario: string;
  readonly operations: number;
  readonly crashPoints: number;
  readonly states: number;
  /** Distinct directories (after the open's sweep) the checks past the open ran on. */
  readonly checkedInFull: number;
  /** Bytes that reached the store's files without passing its StoreFs (0 when every write goes through it). */
  readonly bypassed: number;
  readonly failures: string[];
}

/**
 * Explores `scenario`: at most `perPoint` (times its perPointShare) distinct states per crash point,
 * failures kept up to `maxFailures` (each with its point, the operation
 * that had just returned, and the state's label). `skip` sabotages the
 * store's fsyncs of one kind (see RecordingFs), to show what that breaks.
 */
export async function explore(scenario: Scenario, perPoint: number, maxFailures = 20, skip: RecordingFs['skip'] = null): Promise<Exploration> {
  const root = mkdtempSync(join(SCRATCH, `crash-${scenario.name}-`));
  const aside = mkdtempSync(join(SCRATCH, `crash-aside-`));
  const live = liveImage();
  const images = new Map<number, Buffer>();
  const nextLives: LiveImage[] = [];
  let log: OpLog | null = null;
  let recording: RecordingFs | null = null;
  const earlyAcks: number[] = [];
  const ctx: ScenarioContext = {
    root,
    aside,
    dir: join(root, 'state'),
    keep: scenario.keep ?? 3,
    chain: scenario.chain ?? FULL_ONLY,
    live,
    async captured(g, ack = true) {
      // Acknowledged first: a capture is acknowledged when it returns, before this reads it back.
      if (ack) ctx.ack(g.sequence);
      images.set(g.sequence, await capturedImage(g));
    },
    ack(sequence) {
      if (log === null) earlyAcks.push(sequence);
      else log.ack(sequence);
    },
    get fs() {
      return recording ?? realStoreFs;
    },
    open: (keep) => SnapshotStore.open(ctx.dir, { keep: keep ?? ctx.keep, fs: ctx.fs, chain: ctx.chain }),
    process() {
      if (log === null) throw new Error('a process of its own is for run()');
      return new RecordingFs(log, skip);
    },
  };
  try {
    live.commit(20);
    await scenario.setup?.(ctx);
    log = new OpLog(root);
    recording = new RecordingFs(log, skip);
    try {
      await scenario.run(ctx);
    } finally {
      recording = null;
    }
    if (log.ops.length === 0) throw new Error(`scenario ${scenario.name} recorded no operation`);
    const ops = log.ops;
    const acks = [...earlyAcks.map((sequence) => ({ sequence, afterOps: 0 })), ...log.acks];
    const storeDir = ctx.dir.slice(root.length + 1);
    const bound = Math.max(2, Math.round(perPoint * (scenario.perPointShare ?? 1)));
    const deletedAt = manifestUnlinks(ops, storeDir);
    const failures: string[] = [];
    let states = 0;
    let failed = 0;
    const memo = new Map<string, string[]>();
    // The next host's capture copies a memory file of each worker's own (a capture writes its header).
    nextLives.push(...Array.from({ length: CONCURRENCY }, () => liveImage()));
    for (const l of nextLives) l.commit(5);
    for (let point = 0; point <= ops.length; point++) {
      const ackedNow = acks.filter((a) => a.afterOps <= point).map((a) => a.sequence);
      const acked = ackedNow.reduce<number | null>((m, s) => Math.max(m ?? 0, s), null);
      // Acknowledged and not yet deleted by the run: each must still verify, its whole chain with it.
      const kept = [...new Set(ackedNow)].filter((s) => (deletedAt.get(s) ?? Infinity) >= point).sort((a, b) => a - b);
      const pending = crashStates(ops, log.baseline, point, bound, point * 7919 + scenario.name.length);
      // A few states at a time: each spends most of its time waiting on the thread pool.
      const worker = async (next: LiveImage): Promise<void> => {
        for (let state = pending.shift(); state !== undefined; state = pending.shift()) {
          const base = mkdtempSync(join(SCRATCH, 'crash-state-'));
          try {
            materialize(state, base);
            const want: Expectation = { acked, kept, images, keep: ctx.keep, chain: ctx.chain, live: next };
            const problems = scenario.check ? await scenario.check(base, acked, want) : await checkAsNextHost(join(base, storeDir), want, memo);
            states += 1;
            if (problems.length > 0) {
              failed += 1;
              if (failures.length < maxFailures) {
                const after = point === 0 ? 'before the first operation' : `after ${describe(ops[point - 1]!)}`;
                failures.push(`${scenario.name}: crash at operation ${point}/${ops.length} (${after}), ${state.label}: ${problems.join('; ')}`);
              }
            }
          } finally {
            rmSync(base, { recursive: true, force: true });
          }
        }
      };
      await Promise.all(nextLives.map(worker));
    }
    if (failed > failures.length) failures.push(`${scenario.name}: ... and ${failed - failures.length} more failing states`);
    return { scenario: scenario.name, operations: ops.length, crashPoints: ops.length + 1, states, checkedInFull: scenario.check ? states : memo.size, bypassed: log.bypassed, failures };
  } finally {
    live.close();
    for (const l of nextLives) l.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(aside, { recursive: true, force: true });
  }
}
