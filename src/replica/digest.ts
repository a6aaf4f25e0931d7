// SHA-256 of what a replica stores: the digest that the generation records
// carry and that every download is checked against.
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** A running SHA-256 over the bytes that pass through, with their count. */
export class Sha256Counter {
  readonly #hash: Hash = createHash('sha256');
  bytes = 0;

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** The digest as 64 lower-case hex digits; call once, after the last update. */
  hex(): string {
    return this.#hash.digest('hex');
  }
}

/** SHA-256 (hex) of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 (hex) and size in bytes of the file at `path`, read in 1 MiB blocks. */
export async function sha256OfFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const fh = await open(path, 'r');
  try {
    const counter = new Sha256Counter();
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      counter.update(buf.subarray(0, bytesRead));
    }
    return { sha256: counter.hex(), bytes: counter.bytes };
  } finally {
    await fh.close();
  }
}
