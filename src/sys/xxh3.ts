// XXH3-64 (seed 0): the digest of every chunk and block of an image
// (format/chunk-digests.ts says why this function), computed by the xxHash C
// library that the xxhash-addon package carries, called through koffi.
//
// Why not the addon's own `XXHash3.hash`: each of its calls costs about
// 0.8-1 us besides the hashing (it allocates the result's Buffer), three to
// four times the hashing of a 4 KiB block; a delta capture of 1 GiB makes
// 16,384 chunk calls, and 16 block calls per changed 64 KiB chunk. The same
// C function of the same library (the addon's runtime dispatch to the CPU's
// vector instructions), bound through koffi, costs about 0.15 us per 4 KiB
// call here, and hashes by address: a worker thread reads a mapping without
// making views of it (docs/BENCHMARKS.md, Capture). The addon exports the
// library's symbols (Xxh3Library says which); a build that does not falls
// back to its own call, which computes the same digest.
import { createRequire } from 'node:module';
import koffi from 'koffi';

/** The addon's one-shot XXH3-64 (seed 0): its canonical (big-endian) 8 bytes. */
interface XxhashAddon {
  XXHash3: { hash(data: Uint8Array): Buffer };
}

/**
 * Where the C function is: the addon's binary and the symbol bound. The
 * addon's x64 builds export XXH3_64bits_dispatch (runtime dispatch to the
 * CPU's vector instructions, what its own call uses); its arm64 builds
 * have no dispatch and export XXH3_64bits (NEON at build time). Both are
 * XXH3_64bits, the addon's XXH3_64bits_withSeed at seed 0.
 */
export interface Xxh3Library {
  readonly path: string;
  readonly symbol: string;
}

/** The symbols tried, in order. */
const SYMBOLS = ['XXH3_64bits_dispatch', 'XXH3_64bits'];

type ByBytes = (data: Uint8Array, length: number) => number | bigint;
type ByAddress = (address: number, length: number) => number | bigint;

let loaded: { addon: XxhashAddon; library: Xxh3Library | null; byBytes: ByBytes | null; byAddress: ByAddress | null } | null = null;

// Loaded on first use: a child's client never hashes.
function load(): NonNullable<typeof loaded> {
  if (loaded !== null) return loaded;
  const require = createRequire(import.meta.url);
  const addon = require('xxhash-addon') as XxhashAddon;
  loaded = { addon, library: null, byBytes: null, byAddress: null };
  let path: string;
  let lib: ReturnType<typeof koffi.load>;
  try {
    // The binary node-gyp-build chose for the addon (its documented path()), resolved from the addon's own folder.
    const addonDir = require.resolve('xxhash-addon/package.json').replace(/package\.json$/, '');
    const gypBuild = createRequire(addonDir)('node-gyp-build') as { path(dir: string): string };
    path = gypBuild.path(addonDir);
    lib = koffi.load(path);
  } catch {
    return loaded; // no binary to bind: the addon's own call
  }
  // Bound only if it computes the addon's digest (a known input, both ways).
  const probe = Buffer.alloc(100, 7); // off the heap: its address stays put
  probe[99] = 1;
  const expected = addon.XXHash3.hash(probe).readBigUInt64BE(0);
  for (const symbol of SYMBOLS) {
    try {
      const byBytes = lib.func(`uint64_t ${symbol}(const void *data, size_t length)`) as ByBytes;
      const byAddress = lib.func(`uint64_t ${symbol}(uintptr_t data, size_t length)`) as ByAddress;
      if (BigInt(byBytes(probe, probe.length)) === expected && BigInt(byAddress(Number(koffi.address(probe)), probe.length)) === expected) {
        loaded = { addon, library: { path, symbol }, byBytes, byAddress };
        break;
      }
    } catch {
      // Not exported by this build: the next one.
    }
  }
  return loaded;
}

/** XXH3-64, seed 0, of `bytes`. */
export function xxh3(bytes: Uint8Array): bigint {
  const { addon, byBytes } = load();
  if (byBytes === null) return addon.XXHash3.hash(bytes).readBigUInt64BE(0);
  // koffi gives a uint64 below 2^53 as a number.
  const d = byBytes(bytes, bytes.length);
  return typeof d === 'bigint' ? d : BigInt(d);
}

/**
 * XXH3-64, seed 0, of each `blockSize`-byte block of `bytes` (the last may
 * be shorter) into `out[0..]`: one C call per block at its address, with
 * no view of the block made (a delta hashes 16 blocks per changed chunk).
 */
export function xxh3Blocks(bytes: Uint8Array, blockSize: number, out: BigUint64Array): void {
  const { byAddress } = load();
  if (byAddress === null || bytes.length === 0) {
    for (let p = 0, i = 0; p < bytes.length; p += blockSize, i++) out[i] = xxh3(bytes.subarray(p, Math.min(p + blockSize, bytes.length)));
    return;
  }
  // koffi.address gives the bytes' own address (their offset included) and
  // moves a small array's bytes off the heap first, where they stay.
  const base = Number(koffi.address(bytes));
  for (let p = 0, i = 0; p < bytes.length; p += blockSize, i++) {
    const d = byAddress(base + p, Math.min(blockSize, bytes.length - p));
    out[i] = typeof d === 'bigint' ? d : BigInt(d);
  }
}

/**
 * The C function a worker thread binds for itself (koffi.load(path), then
 * `uint64_t symbol(uintptr_t data, size_t length)`), or null where only the
 * addon's own call works (hash views then).
 */
export function xxh3Library(): Xxh3Library | null {
  return load().library;
}
