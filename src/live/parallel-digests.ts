// Hashing the chunks of a large mapping on every core.
//
// A delta capture of a 1 GiB file hashes the whole file to find what
// changed, and on one core that hashing is most of the capture (XXH3-64
// read from a mapping larger than the caches: docs/BENCHMARKS.md). Worker
// threads share the process's address space, so a worker can hash the same
// mapping in place, from its address, with no copy: the calling thread
// hashes one share of the chunks while the workers hash the others. Small
// inputs stay on the calling thread, where a message round trip would cost
// more than it saves.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { digestOf } from '../format/index.js';
import { WINDOW_BYTES, type MappingWindows } from '../sys/index.js';

/** Bytes below which everything is hashed on the calling thread. */
const MIN_PARALLEL_BYTES = 32 << 20;
/** At most this many workers, whatever the machine. */
const MAX_WORKERS = 3;

// CommonJS, evaluated in the worker: the same digest as digestOf() (XXH3-64,
// seed 0), of each listed chunk, through windows of the mapping.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const koffi = require(workerData.koffi);
const { XXHash3 } = require(workerData.xxhash);
const WINDOW = workerData.window;
// The views of the last mapping, one per window, kept across messages: a
// new view of a large external buffer per message (a capture sends one per
// 16 MiB piece) made this thread collect garbage every few of them.
let views = { address: -1n, length: -1, byWindow: [] };
parentPort.on('message', (m) => {
  try {
    if (views.address !== m.address || views.length !== m.length) views = { address: m.address, length: m.length, byWindow: [] };
    const out = new BigUint64Array(m.indexes.length);
    for (let i = 0; i < m.indexes.length; i++) {
      const a = m.indexes[i] * m.chunkSize;
      const b = Math.min(a + m.chunkSize, m.size);
      const k = Math.floor(a / WINDOW);
      const w = k * WINDOW;
      const view = (views.byWindow[k] ??= new Uint8Array(koffi.view(m.address + BigInt(w), Math.min(WINDOW, m.length - w))));
      out[i] = XXHash3.hash(view.subarray(a - w, b - w)).readBigUInt64BE(0);
    }
    parentPort.postMessage({ id: m.id, digests: out }, [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

interface Reply { id: number; digests?: BigUint64Array; error?: string }

/** One worker thread, referenced (keeping the process alive) only while it has work. */
class HashWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (d: BigUint64Array) => void; reject: (err: Error) => void }>();
  #next = 0;
  broken = false;

  constructor() {
    const require = createRequire(import.meta.url);
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { koffi: require.resolve('koffi'), xxhash: require.resolve('xxhash-addon'), window: WINDOW_BYTES },
    });
    this.#worker.on('message', (reply: Reply) => {
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (reply.digests) waiter?.resolve(reply.digests);
      else waiter?.reject(new Error(reply.error ?? 'no digests'));
    });
    const fail = (err: Error): void => {
      this.broken = true;
      for (const waiter of this.#pending.values()) waiter.reject(err);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', () => fail(new Error('the hashing worker exited')));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    this.#worker.unref();
  }

  digest(job: { address: bigint; length: number; indexes: Float64Array; chunkSize: number; size: number }): Promise<BigUint64Array> {
    const id = this.#next++;
    this.#worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...job });
    });
  }
}

let pool: HashWorker[] | null = null;

/** The workers (created on first use, one fewer than the machine's cores, at most MAX_WORKERS); [] on one core. */
function workers(): HashWorker[] {
  if (pool === null) {
    pool = [];
    const n = Math.min(MAX_WORKERS, availableParallelism() - 1);
    try {
      for (let i = 0; i < n; i++) pool.push(new HashWorker());
    } catch {
      pool = [];
    }
  }
  pool = pool.filter((w) => !w.broken);
  return pool;
}

/** Pieces each worker holds at once (at most): the worker's reply waits for this thread's event loop, so one piece alone would leave it idle while this thread is busy. */
const IN_FLIGHT = 3;

/** Chunks per piece of work handed out: small enough to keep every thread busy to the end, large enough that messages cost nothing (16 MiB of 64 KiB chunks). */
const BATCH = 256;

/**
 * The digests (digestOf: XXH3-64, seed 0) of chunks `indexes` (chunk k is
 * bytes [k * chunkSize, min((k + 1) * chunkSize, size)) of the mapping
 * `windows` views), in order, as consecutive pieces aligned with
 * `indexes`, each yielded as soon as it and every piece before it are
 * hashed. Worker threads take pieces from the front, up to IN_FLIGHT each
 * at a time; this thread hashes a piece itself whenever the next one to
 * yield is not ready (so what the caller does with a piece overlaps the
 * workers' hashing). Every listed chunk must be all data: reading a hole
 * through a mapping of a memory file would allocate it. Workers read the mapping through its address:
 * it must stay mapped until the generator has finished or been returned
 * (return() waits for the pieces in flight). A worker that fails leaves
 * its pieces to this thread.
 */
export async function* digestsInOrder(windows: MappingWindows, indexes: readonly number[], chunkSize: number, size: number): AsyncGenerator<BigUint64Array> {
  const pieces = Math.ceil(indexes.length / BATCH);
  const helpers = indexes.length * chunkSize >= MIN_PARALLEL_BYTES ? workers() : [];
  const mapping = windows.mapping;
  const done: Array<BigUint64Array | undefined> = new Array(pieces);
  const bounds = (p: number): [number, number] => [p * BATCH, Math.min(indexes.length, (p + 1) * BATCH)];
  const local = (p: number): BigUint64Array => {
    const [from, to] = bounds(p);
    const out = new BigUint64Array(to - from);
    for (let i = from; i < to; i++) {
      const a = indexes[i]! * chunkSize;
      out[i - from] = digestOf(windows.get(a, Math.min(a + chunkSize, size)));
    }
    return out;
  };
  let claimed = 0; // pieces [0, claimed) are taken, by a worker or this thread
  const failures: unknown[] = []; // a piece no thread could hash
  let wake: (() => void) | null = null;
  // A few pieces each, but never so many that this thread is left none of
  // a small input to hash (3 pieces on 2 cores: one each, not three to one).
  const inFlight = Math.min(IN_FLIGHT, Math.max(1, Math.floor(pieces / (helpers.length + 1))));
  const feeds = helpers.flatMap((worker) => Array.from({ length: inFlight }, () => worker)).map(async (worker) => {
    while (claimed < pieces && failures.length === 0) {
      const p = claimed++;
      const [from, to] = bounds(p);
      try {
        done[p] = await worker.digest({ address: mapping.address, length: mapping.length, indexes: Float64Array.from(indexes.slice(from, to)), chunkSize, size });
      } catch {
        // This worker is done for; its piece is this thread's. Never a rejection nobody handles.
        try {
          done[p] = local(p);
        } catch (error) {
          failures.push(error);
        }
        return;
      } finally {
        wake?.();
      }
    }
  });
  try {
    for (let p = 0; p < pieces; p++) {
      // A worker's reply that arrived while the caller was busy is read
      // only on a turn of the event loop: take that turn before hashing a
      // piece here that a worker would hash anyway.
      if (done[p] === undefined && claimed > p && helpers.length > 0) await new Promise((resolve) => setImmediate(resolve));
      while (done[p] === undefined) {
        if (failures.length > 0) throw failures[0];
        if (claimed <= p) {
          claimed = p + 1;
          done[p] = local(p);
        } else if (claimed < pieces) {
          // The next piece is a worker's: hash one more meanwhile, then let
          // the workers' replies in (and their next claims) before the next.
          const q = claimed++;
          done[q] = local(q);
          await new Promise((resolve) => setImmediate(resolve));
        } else {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      }
      const piece = done[p]!;
      done[p] = undefined;
      yield piece;
    }
  } finally {
    // Never end (and let the caller unmap) while a worker still reads the mapping.
    claimed = pieces;
    await Promise.all(feeds);
  }
}

/** All of digestsInOrder() at once: the digests aligned with `indexes`. */
export async function digestChunks(windows: MappingWindows, indexes: readonly number[], chunkSize: number, size: number): Promise<BigUint64Array> {
  const out = new BigUint64Array(indexes.length);
  let at = 0;
  for await (const piece of digestsInOrder(windows, indexes, chunkSize, size)) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
