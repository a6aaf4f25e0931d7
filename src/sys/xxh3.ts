// XXH3-64 (seed 0): the digest of every chunk and block of an image
// (format/chunk-digests.ts says why this function), and XXH3-128, the 128
// bits a delta compares chunks by (format/wide-digest.ts), computed by the
// xxHash C library that the xxhash-addon package carries, through koffi.
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

/** The addon's one-shot XXH3-64 and XXH3-128 (seed 0): their canonical (big-endian) 8 and 16 bytes (high half first). */
interface XxhashAddon {
  XXHash3: { hash(data: Uint8Array): Buffer };
  XXHash128: { hash(data: Uint8Array): Buffer };
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
  /** XXH3-128's function of the same build (XXH3_128bits_dispatch or XXH3_128bits), returning XXH128_hash_t { low64, high64 }; null if it did not bind. */
  readonly symbol128: string | null;
}

/** The symbols tried, in order, each with XXH3-128's of the same build. */
const SYMBOLS = [['XXH3_64bits_dispatch', 'XXH3_128bits_dispatch'], ['XXH3_64bits', 'XXH3_128bits']] as const;

/**
 * Inputs longer than this take xxHash's long-input path, which ends XXH3-64
 * and XXH3-128's low half with the same merge of the same accumulators: the
 * two are equal there (xxhash.h: XXH3_finalizeLong_128b's low64 is
 * XXH3_finalizeLong_64b; test/sys/xxh3.ts holds it). At or below, they differ.
 */
export const XXH3_LONG_INPUT = 240;

/** XXH128_hash_t, returned by value (two registers on x86-64 and arm64). */
const XXH128_HASH = koffi.struct({ low64: 'uint64_t', high64: 'uint64_t' });

type ByBytes = (data: Uint8Array, length: number) => number | bigint;
type ByAddress = (address: number, length: number) => number | bigint;
type Wide = { low64: number | bigint; high64: number | bigint };
type WideByAddress = (address: number, length: number) => Wide;

let loaded: { addon: XxhashAddon; library: Xxh3Library | null; byBytes: ByBytes | null; byAddress: ByAddress | null; wideByAddress: WideByAddress | null } | null = null;

// Loaded on first use: a child's client never hashes.
function load(): NonNullable<typeof loaded> {
  if (loaded !== null) return loaded;
  const require = createRequire(import.meta.url);
  const addon = require('xxhash-addon') as XxhashAddon;
  loaded = { addon, library: null, byBytes: null, byAddress: null, wideByAddress: null };
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
  const expected128 = addon.XXHash128.hash(probe);
  for (const [symbol, symbol128] of SYMBOLS) {
    try {
      const byBytes = lib.func(`uint64_t ${symbol}(const void *data, size_t length)`) as ByBytes;
      const byAddress = lib.func(`uint64_t ${symbol}(uintptr_t data, size_t length)`) as ByAddress;
      if (BigInt(byBytes(probe, probe.length)) === expected && BigInt(byAddress(Number(koffi.address(probe)), probe.length)) === expected) {
        loaded = { addon, library: { path, symbol, symbol128: null }, byBytes, byAddress, wideByAddress: null };
        break;
      }
    } catch {
      // Not exported by this build: the next one.
    }
  }
  // XXH3-128 of the same build first (the 64-bit one's pair), then the other.
  const pairs = SYMBOLS.filter(([symbol]) => symbol === loaded!.library?.symbol).concat(SYMBOLS.filter(([symbol]) => symbol !== loaded!.library?.symbol));
  for (const [, symbol128] of loaded.library === null ? [] : pairs) {
    try {
      const wide = lib.func(symbol128, XXH128_HASH, ['uintptr_t', 'size_t']) as WideByAddress;
      const got = wide(Number(koffi.address(probe)), probe.length);
      if (BigInt(got.high64) === expected128.readBigUInt64BE(0) && BigInt(got.low64) === expected128.readBigUInt64BE(8)) {
        loaded = { ...loaded, library: { ...loaded.library!, symbol128 }, wideByAddress: wide };
        break;
      }
    } catch {
      // Not exported by this build: the next, else the addon's own XXH3-128.
    }
  }
  return loaded;
}

const big = (d: number | bigint): bigint => (typeof d === 'bigint' ? d : BigInt(d));

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
 * A 128-bit digest of `bytes`: [XXH3-64, the high half of XXH3-128], both
 * seed 0. Over XXH3_LONG_INPUT bytes this is XXH3-128 itself (its low half
 * is XXH3-64) and costs one C call; at or below, two. A delta tells a
 * chunk unchanged by all 128 bits, so that a change goes unseen only on a
 * 128-bit collision; the low half alone is the image checksum's digest.
 */
export function xxh3Wide(bytes: Uint8Array): [bigint, bigint] {
  const { addon, wideByAddress } = load();
  if (wideByAddress === null || bytes.length === 0) {
    const c = addon.XXHash128.hash(bytes);
    return [bytes.length > XXH3_LONG_INPUT ? c.readBigUInt64BE(8) : xxh3(bytes), c.readBigUInt64BE(0)];
  }
  // koffi.address: as in xxh3Blocks.
  const got = wideByAddress(Number(koffi.address(bytes)), bytes.length);
  return [bytes.length > XXH3_LONG_INPUT ? big(got.low64) : xxh3(bytes), big(got.high64)];
}

/**
 * The C functions a worker thread binds for itself (koffi.load(path), then
 * `uint64_t symbol(uintptr_t data, size_t length)` and, where symbol128 is
 * not null, the same signature returning XXH128_hash_t { low64, high64 }),
 * or null where only the addon's own calls work (hash views then).
 */
export function xxh3Library(): Xxh3Library | null {
  return load().library;
}
