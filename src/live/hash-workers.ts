// The hashing worker threads (parallel-digests.ts hands them pieces): each
// hashes chunks of a mapping the calling thread made, through its address,
// with no copy (threads share the process's address space).
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { WINDOW_BYTES, XXH3_LONG_INPUT, xxh3Library } from '../sys/index.js';

/** At most this many workers, whatever the machine. */
const MAX_WORKERS = 3;

// CommonJS, evaluated in the worker: the same digest as digestOf() (XXH3-64,
// seed 0), of each listed chunk, through windows of the mapping; for a
// chunk marked in `withBlocks`, of a copy of it, and the digests of the copy's
// blocks too (blockDigestsOf()), so that both are of the same bytes while
// the child writes.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const koffi = require(workerData.koffi);
const { XXHash3, XXHash128 } = require(workerData.xxhash);
const WINDOW = workerData.window;
const LONG = workerData.longInput;
// By address through the C functions where they bind (sys/xxh3.ts), else through views.
const lib = workerData.xxh3;
const clib = lib === null ? null : koffi.load(lib.path);
const byAddress = clib === null ? null : clib.func('uint64_t ' + lib.symbol + '(uintptr_t data, size_t length)');
const byBytes = clib === null ? null : clib.func('uint64_t ' + lib.symbol + '(const void *data, size_t length)');
const wideAt = clib === null || lib.symbol128 === null ? null : clib.func(lib.symbol128, koffi.struct({ low64: 'uint64_t', high64: 'uint64_t' }), ['uintptr_t', 'size_t']);
const big = (d) => (typeof d === 'bigint' ? d : BigInt(d));
// The views of the last mapping, one per window, kept across messages: a
// new view of a large external buffer per message (a capture sends one per
// 16 MiB piece) made this thread collect garbage every few of them.
let views = { address: -1n, length: -1, byWindow: [] };
let copy = new Uint8Array(0);
const hash = (bytes) => (byBytes === null ? XXHash3.hash(bytes).readBigUInt64BE(0) : big(byBytes(bytes, bytes.length)));
// wideDigestOf() (format/wide-digest.ts) into out[i] and highs[i]: of the bytes at 'address' when bound, else of 'bytes'.
const wide = (address, bytes, out, highs, i) => {
  if (wideAt === null) {
    const c = XXHash128.hash(bytes);
    out[i] = bytes.length > LONG ? c.readBigUInt64BE(8) : hash(bytes);
    highs[i] = c.readBigUInt64BE(0);
    return;
  }
  const d = wideAt(address, bytes.length);
  out[i] = bytes.length > LONG ? big(d.low64) : hash(bytes);
  highs[i] = big(d.high64);
};
parentPort.on('message', (m) => {
  try {
    if (views.address !== m.address || views.length !== m.length) views = { address: m.address, length: m.length, byWindow: [] };
    const out = new BigUint64Array(m.indexes.length);
    const highs = new BigUint64Array(m.indexes.length);
    const per = Math.ceil(m.chunkSize / m.blockSize);
    const blocks = m.withBlocks ? new BigUint64Array(m.indexes.length * per) : null;
    const base = Number(m.address); // below 2^47: exact
    for (let i = 0; i < m.indexes.length; i++) {
      const a = m.indexes[i] * m.chunkSize;
      const b = Math.min(a + m.chunkSize, m.size);
      const k = Math.floor(a / WINDOW);
      const w = k * WINDOW;
      const view = (views.byWindow[k] ??= new Uint8Array(koffi.view(m.address + BigInt(w), Math.min(WINDOW, m.length - w))));
      if (!m.withBlocks || m.withBlocks[i] === 0) {
        // Where XXH3-128 bound, the view gives the length (and the bytes of a short chunk) only.
        wide(base + a, view.subarray(a - w, b - w), out, highs, i);
        continue;
      }
      if (copy.length < m.chunkSize) copy = new Uint8Array(m.chunkSize);
      const c = copy.subarray(0, b - a);
      c.set(view.subarray(a - w, b - w));
      // Each block at its address in the copy: no view per block.
      const at = byAddress === null ? 0 : Number(koffi.address(c));
      wide(at, c, out, highs, i);
      for (let p = 0, j = i * per; p < c.length; p += m.blockSize, j++) {
        const n = Math.min(m.blockSize, c.length - p);
        blocks[j] = byAddress === null ? hash(c.subarray(p, p + n)) : big(byAddress(at + p, n));
      }
    }
    parentPort.postMessage({ id: m.id, digests: out, highs, blocks }, blocks ? [out.buffer, highs.buffer, blocks.buffer] : [out.buffer, highs.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

interface Reply { id: number; digests?: BigUint64Array; highs?: BigUint64Array; blocks?: BigUint64Array | null; error?: string }

/**
 * Digests of a run of chunks: `digests[i]` is the digest of the i-th; when
 * chunks were marked in `withBlocks`, `blocks` holds BLOCKS_PER_CHUNK block digests
 * per chunk (from i * BLOCKS_PER_CHUNK; meaningful for marked chunks only),
 * of the same bytes as its digest.
 */
export interface DigestPiece {
  readonly digests: BigUint64Array;
  /** The high halves of the chunks' 128-bit digests (wideDigestOf), aligned with `digests`. */
  readonly highs: BigUint64Array;
  readonly blocks: BigUint64Array | null;
}

/** One worker thread, referenced (keeping the process alive) only while it has work. */
export class HashWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (d: DigestPiece) => void; reject: (err: Error) => void }>();
  #next = 0;
  broken = false;

  constructor() {
    const require = createRequire(import.meta.url);
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { koffi: require.resolve('koffi'), xxhash: require.resolve('xxhash-addon'), window: WINDOW_BYTES, longInput: XXH3_LONG_INPUT, xxh3: xxh3Library() },
    });
    this.#worker.on('message', (reply: Reply) => {
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (reply.digests && reply.highs) waiter?.resolve({ digests: reply.digests, highs: reply.highs, blocks: reply.blocks ?? null });
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

  digest(job: { address: bigint; length: number; indexes: Float64Array; withBlocks: Uint8Array | null; chunkSize: number; blockSize: number; size: number }): Promise<DigestPiece> {
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
export function workers(): HashWorker[] {
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
