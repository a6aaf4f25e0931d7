import { endianness } from 'node:os';
import { ShmHostError } from '../errors.js';

// The layout is little-endian; atomic 8-byte access uses native order. A user can meet this one, so it has the one error shape.
if (endianness() !== 'LE') {
  throw new ShmHostError('BIG_ENDIAN', 'this machine is big-endian, and the shared layout is little-endian (docs/FORMAT.md)', { hint: 'run shm-host on x86-64, arm64 or another little-endian machine' });
}

/**
 * 8-byte word access over bytes that may be a live shared mapping. When the
 * bytes are 8-aligned (a mapping always is), loads and stores are atomic
 * (Atomics on a BigUint64Array), as the commit protocol requires; otherwise
 * (an image read into an unaligned buffer) plain little-endian access.
 */
export interface Words {
  load(at: number): bigint;
  store(at: number, value: bigint): void;
}

const cache = new WeakMap<Uint8Array, Words>();

export function wordsOf(bytes: Uint8Array): Words {
  let words = cache.get(bytes);
  if (words) return words;
  if (bytes.byteOffset % 8 === 0) {
    const u64 = new BigUint64Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 8));
    words = {
      load: (at) => Atomics.load(u64, at / 8),
      store: (at, value) => void Atomics.store(u64, at / 8, value),
    };
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    words = {
      load: (at) => dv.getBigUint64(at, true),
      store: (at, value) => dv.setBigUint64(at, value, true),
    };
  }
  cache.set(bytes, words);
  return words;
}
