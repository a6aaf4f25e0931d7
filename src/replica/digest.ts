// The digest of what a replica stores, which generation records carry and
// every download is checked against: MD5 per part, folded.
//
// Why MD5 per part: every request body must carry Content-MD5 anyway (the
// one digest every S3 server verifies; Ceph RGW 16 ignores the newer
// checksums), so each part's MD5 is computed once and serves both the
// upload check and the record. A second digest (SHA-256: 0.9 ms of CPU per
// MiB here, MD5 1.4 ms) would cost a quarter more CPU per byte sent. MD5 is
// no defence against a forger, but this digest guards against damage: torn,
// truncated, flipped or swapped bytes.
//
// Definition (docs/REPLICA.md): split the object into parts of `partSize`
// bytes (the last may be shorter; an empty object has none); the digest is
// the hex MD5 of the parts' binary MD5s concatenated, then '-' and the number
// of parts. For a multipart upload with the same part size this is also the
// ETag S3 reports.
import { createHash, type Hash } from 'node:crypto';

/** An object's digest as computed over its bytes in order, part by part. */
export class PartDigest {
  readonly partSize: number;
  /** Each finished part's MD5 (16 bytes). */
  readonly parts: Buffer[] = [];
  bytes = 0;
  #hash: Hash | null = null;
  #inPart = 0;
  #ended = false;

  /** `partSize` in bytes, positive. */
  constructor(partSize: number) {
    if (!Number.isSafeInteger(partSize) || partSize < 1) throw new RangeError(`part size must be a positive integer, got ${partSize}`);
    this.partSize = partSize;
  }

  update(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length; ) {
      this.#hash ??= createHash('md5');
      const n = Math.min(chunk.length - at, this.partSize - this.#inPart);
      this.#hash.update(chunk.subarray(at, at + n));
      this.#inPart += n;
      at += n;
      if (this.#inPart === this.partSize) this.#closePart();
    }
    this.bytes += chunk.length;
  }

  /** After the last update: closes the last, shorter part. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#inPart > 0) this.#closePart();
  }

  #closePart(): void {
    this.parts.push((this.#hash as Hash).digest());
    this.#hash = null;
    this.#inPart = 0;
  }

  /**
   * The MD5 of part `index` (0-based) if that part is finished and holds
   * `length` bytes; undefined otherwise.
   */
  partMd5(index: number, length: number): Buffer | undefined {
    const md5 = this.parts[index];
    if (md5 === undefined) return undefined;
    const last = this.#ended && index === this.parts.length - 1;
    const size = last ? this.bytes - index * this.partSize : this.partSize;
    return size === length ? md5 : undefined;
  }

  /** The digest, `<32 hex>-<parts>`; calls end(). */
  value(): string {
    this.end();
    return `${createHash('md5').update(Buffer.concat(this.parts)).digest('hex')}-${this.parts.length}`;
  }
}

/** The digest of `bytes` with parts of `partSize` bytes. */
export function digestOf(bytes: Uint8Array, partSize: number): string {
  const d = new PartDigest(partSize);
  d.update(bytes);
  return d.value();
}

/** The shape of a digest value. */
export const DIGEST = /^[0-9a-f]{32}-\d+$/;
