// The file backend of ReplicaClient: a directory (a second disk, a network
// mount). Every write is durable before it returns: temporary file, fsync,
// rename (or link for a conditional create), fsync of the directory.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { checkKey, readWhole, type ObjectInfo, type ObjectReader, type PutOptions, type PutResult, type PutSource, type ReplicaClient } from './client.js';
import { PartDigest } from './digest.js';
import { fileChunks } from './runs.js';
import { fsyncDirectory } from '../sys/index.js';
import { ReplicaError } from './errors.js';

const TEMP = '.tmp-';
/** Part size of the digests of objects in a directory (as the S3 backend's default parts). */
const PART_SIZE = 8 << 20;


/** A ReplicaClient on a directory. */
export class FileReplicaClient implements ReplicaClient {
  readonly url: string;
  readonly #root: string;

  /** `root`: an absolute directory path, created (durably) on the first write if missing. */
  constructor(root: string, url = `file://${root}`) {
    this.#root = root;
    this.url = url;
  }

  #path(key: string): string {
    return join(this.#root, ...checkKey(key).split('/'));
  }

  #fail(e: unknown, op: string, key: string): ReplicaError {
    if (e instanceof ReplicaError) return e;
    if ((e as Error).name === 'AbortError') return new ReplicaError('ABORTED', `replica ${this.url}, object ${key}: ${op} stopped`, { key, retryable: false, cause: e });
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const where = `replica ${this.url}, ${key === '' ? 'its directory' : `object ${key}`}`;
    if (code === 'ENOENT') return new ReplicaError('NOT_FOUND', `${where} does not exist (${op})`, { hint: 'it was deleted or never written', key, cause: e });
    if (code === 'EEXIST') return new ReplicaError('EXISTS', `${where} already exists (${op})`, { hint: 'another writer created it', key, cause: e });
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      return new ReplicaError('ACCESS', `${where}: ${op} not permitted (${code})`, { hint: "check the directory's owner, mode and mount", key, cause: e });
    }
    return new ReplicaError('IO', `${where}: ${op} failed (${code || String(e)})`, { hint: 'it is retried; check the disk or mount if it persists', key, cause: e, retryable: true });
  }

  /** Creates `dir` and its missing parents, each made durable in its parent. */
  async #ensureDir(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dir; ; d = dirname(d)) {
      try {
        await stat(d);
        break;
      } catch {
        missing.unshift(d);
        if (dirname(d) === d) break;
      }
    }
    for (const d of missing) {
      await mkdir(d).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'EEXIST') throw e; });
      await fsyncDirectory(dirname(d));
    }
  }

  /** Writes a new temporary file beside `final` from `source`, fsynced; returns its path, size and digest. */
  async #writeTemp(final: string, source: PutSource, options: PutOptions = {}): Promise<{ temp: string; bytes: number; digest: string }> {
    await this.#ensureDir(dirname(final));
    const temp = join(dirname(final), `${TEMP}${randomBytes(6).toString('hex')}-${final.split(sep).pop() ?? ''}`);
    const counter = new PartDigest(PART_SIZE);
    const fh: FileHandle = await open(temp, 'wx', 0o644);
    try {
      const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = 'path' in source ? fileChunks(source.path, source.runs) : [source.bytes];
      for await (const chunk of chunks) {
        counter.update(chunk);
        let done = 0;
        while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
        options.onProgress?.(counter.bytes);
        options.signal?.throwIfAborted();
      }
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(temp).catch(() => {});
      throw e;
    }
    await fh.close();
    return { temp, bytes: counter.bytes, digest: counter.value() };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TEMP)) continue;
        const key = keyPrefix + entry.name;
        if (entry.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) await walk(join(dir, entry.name), `${key}/`);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const s = await stat(join(dir, entry.name)).catch(() => null);
          if (s !== null) out.push({ key, bytes: s.size, modified: s.mtime });
        }
      }
    };
    try {
      await walk(this.#root, '');
    } catch (e) {
      throw this.#fail(e, 'list', prefix);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async put(key: string, source: PutSource, options: PutOptions = {}): Promise<PutResult> {
    const final = this.#path(key);
    try {
      const { temp, bytes, digest } = await this.#writeTemp(final, source, options);
      await rename(temp, final);
      await fsyncDirectory(dirname(final));
      return { key, bytes, digest, partSize: PART_SIZE };
    } catch (e) {
      throw this.#fail(e, 'write', key);
    }
  }

  async createExclusive(key: string, bytes: Uint8Array): Promise<void> {
    const final = this.#path(key);
    try {
      const { temp } = await this.#writeTemp(final, { bytes });
      try {
        // link(2) fails with EEXIST when the name is taken: the file's
        // counterpart of If-None-Match: *, atomic on local and NFS file systems.
        await link(temp, final);
      } finally {
        await unlink(temp).catch(() => {});
      }
      await fsyncDirectory(dirname(final));
    } catch (e) {
      throw this.#fail(e, 'create', key);
    }
  }

  async read(key: string): Promise<ObjectReader> {
    const path = this.#path(key);
    try {
      const fh = await open(path, 'r');
      const { size } = await fh.stat();
      const fail = (e: unknown): ReplicaError => this.#fail(e, 'read', key);
      async function* body(): AsyncGenerator<Uint8Array> {
        try {
          for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20 })) yield chunk as Uint8Array;
        } catch (e) {
          throw fail(e);
        } finally {
          await fh.close().catch(() => {});
        }
      }
      return { bytes: size, body: body() };
    } catch (e) {
      throw this.#fail(e, 'read', key);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    return readWhole(await this.read(key));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const path = this.#path(key);
      try {
        await unlink(path);
        dirs.add(dirname(path));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.#fail(e, 'delete', key);
      }
    }
    for (const dir of dirs) {
      try {
        await fsyncDirectory(dir);
        // Folders a deletion emptied go too (never the root).
        for (let d = dir; d !== this.#root && d.startsWith(this.#root); d = dirname(d)) {
          try {
            await rmdir(d);
            await fsyncDirectory(dirname(d));
          } catch {
            break;
          }
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.#fail(e, 'delete', '');
      }
    }
  }

  async abandonIncompleteUploads(): Promise<number> {
    // Temporary files are never listed, and a put leaves none behind unless
    // the process died in it; those are only space, swept with their folder.
    return 0;
  }

  close(): void {}
}
