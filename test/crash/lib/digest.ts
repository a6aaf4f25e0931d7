// A content digest for telling crash states apart: xxh3-128 (fast; these
// are test keys, not checksums), cached per buffer since many states share one.
import { xxh3 } from '@node-rs/xxhash';

const cache = new WeakMap<Uint8Array, string>();

export function digestOf(bytes: Uint8Array): string {
  let d = cache.get(bytes);
  if (d === undefined) {
    d = xxh3.xxh128(bytes).toString(16);
    cache.set(bytes, d);
  }
  return d;
}
