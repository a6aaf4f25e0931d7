// The S3 backend of ReplicaClient, on the official SDK: @aws-sdk/client-s3
// for every request, @aws-sdk/lib-storage for multipart uploads. No S3
// protocol code of our own.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client, paginateListObjectsV2, type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { checkKey, readWhole, type ObjectInfo, type ObjectReader, type PutOptions, type PutResult, type PutSource, type ReplicaClient } from './client.js';
import { PartDigest } from './digest.js';
import { fileChunks } from './runs.js';
import { ReplicaError } from './errors.js';
import { s3Failure } from './s3-errors.js';
import { quietly } from './sdk-quiet.js';

/** Where and how to reach an S3-compatible server. */
export interface S3ReplicaOptions {
  bucket: string;
  /** Key prefix, without leading or trailing '/' ('' for the bucket's root). */
  prefix: string;
  /** The URL the replica was named by, for messages. */
  url: string;
  /** e.g. http://127.0.0.1:7480; default: the SDK's (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then AWS). */
  endpoint?: string;
  /** Default: the SDK's (AWS_REGION, the profile); us-east-1 when an endpoint is given and none is set. */
  region?: string;
  /** Path-style addressing (http://host/bucket/key), which most non-AWS servers need. Default false. */
  forcePathStyle?: boolean;
  /** Multipart part size in bytes (S3: at least 5 MiB except the last part). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded at once. Default 4. */
  queueSize?: number;
  /** SDK attempts per request (its standard retry strategy, with backoff). Default 3. */
  maxAttempts?: number;
  /**
   * A request whose connection sees no byte either way for this long fails
   * (ms). Default 30 000. Without it a server that accepts a request and
   * never answers (a Ceph cluster whose OSDs are full blocks writes so)
   * would hold the replica forever: the SDK sets no timeout of its own.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_PART_SIZE = 8 << 20;

/**
 * Adds Content-MD5 to every PutObject and UploadPart whose body is in
 * memory (lib-storage hands each part over as a buffer). S3 and Ceph RGW
 * verify it and answer 400 BadDigest on a mismatch (S3 API Reference,
 * PutObject and UploadPart, "Content-MD5"); Ceph RGW 16 ignores the newer
 * x-amz-checksum-* headers (measured here), so the SDK's default CRC32 alone
 * would not be checked by every server. `known(key, part, length)` may give
 * a part's MD5 already computed (PartDigest), so that no byte is hashed twice.
 */
export function addContentMd5(client: S3Client, known: (key: string, part: number, length: number) => Buffer | undefined = () => undefined): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Body?: unknown; ContentMD5?: string; Key?: string; PartNumber?: number };
      const command = (context as { commandName?: string }).commandName;
      if ((command === 'PutObjectCommand' || command === 'UploadPartCommand') && input.Body instanceof Uint8Array && input.ContentMD5 === undefined) {
        // A single PutObject holds the whole object: part 1.
        const md5 = known(input.Key ?? '', input.PartNumber ?? 1, input.Body.length) ?? createHash('md5').update(input.Body).digest();
        input.ContentMD5 = md5.toString('base64');
      }
      return next(args);
    },
    { step: 'initialize', name: 'shmHostContentMd5' },
  );
}

/** A ReplicaClient on an S3 bucket and prefix. Credentials come from the SDK's default provider chain only. */
export class S3ReplicaClient implements ReplicaClient {
  readonly url: string;
  readonly #bucket: string;
  readonly #root: string;
  readonly #s3: S3Client;
  readonly #partSize: number;
  readonly #queueSize: number;
  /** The digests of the puts in progress, by full key: their parts' MD5s serve as Content-MD5. */
  readonly #digests = new Map<string, PartDigest>();

  constructor(options: S3ReplicaOptions) {
    this.url = options.url;
    this.#bucket = options.bucket;
    this.#root = options.prefix === '' ? '' : `${options.prefix}/`;
    this.#partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.#queueSize = options.queueSize ?? 4;
    const config: S3ClientConfig = {
      forcePathStyle: options.forcePathStyle ?? false,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: 10_000, socketTimeout: options.idleTimeoutMs ?? 30_000 },
      // Every body carries Content-MD5 (addContentMd5), which every S3
      // server checks; the SDK's own CRC32 on top would cost a second pass
      // over every byte and protect nothing more.
      requestChecksumCalculation: 'WHEN_REQUIRED',
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (region !== undefined) config.region = region;
    else if (options.endpoint !== undefined) config.region = 'us-east-1';
    this.#s3 = quietly(() => new S3Client(config));
    addContentMd5(this.#s3, (key, part, length) => this.#digests.get(key)?.partMd5(part - 1, length));
  }

  #key(key: string): string {
    return this.#root + checkKey(key);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: this.#s3 }, { Bucket: this.#bucket, Prefix: this.#root + prefix })) {
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined) continue;
          out.push({ key: o.Key.slice(this.#root.length), bytes: o.Size ?? 0, modified: o.LastModified ?? new Date(0) });
        }
      }
    } catch (e) {
      throw s3Failure(e, this.url, 'ListObjectsV2', prefix);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async put(key: string, source: PutSource, options: PutOptions = {}): Promise<PutResult> {
    const counter = new PartDigest(this.#partSize);
    const input: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = 'path' in source ? fileChunks(source.path, source.runs) : [source.bytes];
    // lib-storage cuts the stream into parts of exactly partSize bytes and
    // sends a part only once it has all of it: by then its MD5 is known.
    async function* hashed(): AsyncGenerator<Uint8Array> {
      for await (const chunk of input) {
        counter.update(chunk);
        yield chunk;
      }
      counter.end();
    }
    const fullKey = this.#key(key);
    this.#digests.set(fullKey, counter);
    const upload = new Upload({
      client: this.#s3,
      params: { Bucket: this.#bucket, Key: fullKey, Body: Readable.from(hashed(), { objectMode: false }) },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    const { onProgress, signal } = options;
    if (onProgress !== undefined) upload.on('httpUploadProgress', (p) => onProgress(p.loaded ?? 0));
    const abort = (): void => void upload.abort().catch(() => {});
    signal?.addEventListener('abort', abort, { once: true });
    try {
      signal?.throwIfAborted();
      await upload.done();
    } catch (e) {
      if (signal?.aborted === true) throw new ReplicaError('ABORTED', `replica ${this.url}, object ${key}: upload stopped`, { key, retryable: false, cause: e });
      throw s3Failure(e, this.url, 'upload', key);
    } finally {
      signal?.removeEventListener('abort', abort);
      this.#digests.delete(fullKey);
    }
    return { key, bytes: counter.bytes, digest: counter.value(), partSize: this.#partSize };
  }

  async createExclusive(key: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.#s3.send(new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: bytes, IfNoneMatch: '*' }));
    } catch (e) {
      throw s3Failure(e, this.url, 'PutObject If-None-Match', key);
    }
  }

  async read(key: string): Promise<ObjectReader> {
    try {
      const r = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      const body = r.Body as (AsyncIterable<Uint8Array> & Readable) | undefined;
      if (body === undefined) throw new Error('GetObject returned no body');
      const url = this.url;
      // Failures while streaming become ReplicaErrors too.
      async function* guarded(): AsyncGenerator<Uint8Array> {
        try {
          for await (const chunk of body as AsyncIterable<Uint8Array>) yield chunk;
        } catch (e) {
          throw s3Failure(e, url, 'GetObject', key);
        }
      }
      return { bytes: r.ContentLength ?? 0, body: guarded() };
    } catch (e) {
      throw s3Failure(e, this.url, 'GetObject', key);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    return readWhole(await this.read(key));
  }

  async delete(keys: readonly string[]): Promise<void> {
    // One DeleteObject per key: DeleteObjects needs a body checksum that not
    // every server accepts in the SDK's current form, and few keys go at once.
    for (const key of keys) {
      try {
        await this.#s3.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      } catch (e) {
        const f = s3Failure(e, this.url, 'DeleteObject', key);
        if (f.code !== 'NOT_FOUND') throw f;
      }
    }
  }

  async abandonIncompleteUploads(prefix: string): Promise<number> {
    // An upload that failed while the server was unreachable could not be
    // aborted then (S3 API Reference: ListMultipartUploads, AbortMultipartUpload).
    let count = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.#s3.send(new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: this.#root + prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
        for (const u of page.Uploads ?? []) {
          if (u.Key === undefined || u.UploadId === undefined) continue;
          await this.#s3.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: u.Key, UploadId: u.UploadId }));
          count += 1;
        }
        if (page.IsTruncated !== true) return count;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (e) {
      throw s3Failure(e, this.url, 'AbortMultipartUpload', prefix);
    }
  }

  close(): void {
    this.#s3.destroy();
  }
}
