// XXH3-64 (and XXH3-128) of a chunk read only where it holds data: its holes are hashed as
// zeros without being touched, through xxhash-addon's streaming hasher.
import { createRequire } from 'node:module';
import { XXH3_LONG_INPUT } from '../sys/index.js';

/** The streaming XXH3 hasher of xxhash-addon (update/digest/reset; digest() is the canonical big-endian form). */
interface Hasher {
  update(data: Uint8Array): void;
  digest(): Buffer;
  reset(): void;
}
interface XxhashAddon {
  XXHash3: new (seed: Uint8Array) => Hasher;
  XXHash128: new (seed: Uint8Array) => Hasher;
}
let theHashers: { h64: Hasher; h128: Hasher } | null = null;

// Loaded on first use: src/format is also what a child's client loads, and
// a child never hashes images, so it need not load the native addon.
function hasherOf(bits: 64 | 128): Hasher {
  if (theHashers === null) {
    const addon = createRequire(import.meta.url)('xxhash-addon') as XxhashAddon;
    theHashers = { h64: new addon.XXHash3(new Uint8Array(8)), h128: new addon.XXHash128(new Uint8Array(8)) }; // seed 0
  }
  return bits === 64 ? theHashers.h64 : theHashers.h128;
}

/** Zeros hashed at most this many at a time. */
const ZEROS = new Uint8Array(1 << 20);

/** `length` zero bytes into `hasher`. */
function hashZeros(hasher: Hasher, length: number): void {
  for (let left = length; left > 0; left -= ZEROS.length) hasher.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
}

/**
 * XXH3-64 (seed 0) of file bytes [start, end), where file offset p is at
 * view[p - base], reading only the data `runs` (file offsets, in order);
 * the other bytes are zeros, hashed as such without being read.
 */
export function runsDigest(view: Uint8Array, start: number, end: number, runs: ReadonlyArray<readonly [number, number]>, base: number): bigint {
  return hashRuns(hasherOf(64), view, start, end, runs, base).readBigUInt64BE(0);
}

/** runsDigest() and the high half of XXH3-128 of the same bytes: wideDigestOf() (wide-digest.ts) of a chunk with holes. */
export function runsWideDigest(view: Uint8Array, start: number, end: number, runs: ReadonlyArray<readonly [number, number]>, base: number): [bigint, bigint] {
  const c = hashRuns(hasherOf(128), view, start, end, runs, base);
  // Over 240 bytes XXH3-128's low half is XXH3-64 (sys/xxh3.ts, XXH3_LONG_INPUT).
  return [end - start > XXH3_LONG_INPUT ? c.readBigUInt64BE(8) : runsDigest(view, start, end, runs, base), c.readBigUInt64BE(0)];
}

/** The canonical digest of `hasher` over the bytes runsDigest() describes. */
function hashRuns(hasher: Hasher, view: Uint8Array, start: number, end: number, runs: ReadonlyArray<readonly [number, number]>, base: number): Buffer {
  hasher.reset();
  let p = start;
  for (const [r0, r1] of runs) {
    const a = Math.max(r0, start);
    const b = Math.min(r1, end);
    if (b <= a) continue;
    if (a > p) hashZeros(hasher, a - p);
    hasher.update(view.subarray(a - base, b - base));
    p = b;
  }
  if (p < end) hashZeros(hasher, end - p);
  return hasher.digest();
}
