// Writing a file the safe way (an export a user keeps, the sequence floor,
// a file a restore from a replica downloads): to a temporary name beside
// it, fsync, rename, fsync the directory. An interrupted export never
// leaves a half-written file under the name the user asked for. Zero chunks
// become holes: the export of a 5 GiB image holding a few MiB costs a few
// MiB of disk, as the image does.
import fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StoreError } from './errors.js';
import { fsyncDirectoryWith, realStoreFs, removeIfPresentWith, writeFullyWith, type StoreFs } from './fs.js';

/** A file being written; commit() publishes it under its final name, abort() removes it. */
export class DurableFile {
  readonly path: string;
  readonly #temp: string;
  readonly #fd: number;
  readonly #sfs: StoreFs;
  #position = 0;
  #open = true;
  #done = false;

  private constructor(sfs: StoreFs, path: string, temp: string, fd: number) {
    this.#sfs = sfs;
    this.path = path;
    this.#temp = temp;
    this.#fd = fd;
  }

  /**
   * Starts writing `path` (0600). Unless `overwrite`, an existing file there
   * is StoreError EXISTS. `tempPrefix`: the temporary file's name before its
   * random part (default `.<name>.tmp-`; in a snapshot directory `.tmp-`,
   * which the store's open sweeps).
   */
  static async create(path: string, overwrite: boolean, sfs: StoreFs = realStoreFs, tempPrefix = `.${basename(path)}.tmp-`): Promise<DurableFile> {
    if (!overwrite && await exists(sfs, path)) {
      throw new StoreError('EXISTS', `${path} already exists`, { path, hint: 'remove it or choose another name' });
    }
    // A random part besides the pid: a temporary file an interrupted export
    // left must not block the next one, whose pid may be the same (after a
    // reboot, in a container).
    // node:crypto loads here, not with the store: its set-up cost the host's start milliseconds (docs/BENCHMARKS.md, Start-up).
    const temp = join(dirname(path), `${tempPrefix}${process.pid}-${process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex')}`);
    const fd = await sfs.open(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    return new DurableFile(sfs, path, temp, fd);
  }

  /** Appends `chunk`; a chunk of at least a page of zeros is left a hole (it reads back as zeros). */
  async write(chunk: Uint8Array): Promise<void> {
    if (!(chunk.length >= HOLE_MIN && isZero(chunk))) await writeFullyWith(this.#sfs, this.#fd, chunk, 0, chunk.length, this.#position);
    this.#position += chunk.length;
  }

  /**
   * Writes all of `chunk` at byte `position`, for a file written out of
   * order (a sparse file's data runs, each at its place; what is never
   * written reads back as zeros).
   */
  async writeAt(chunk: Uint8Array, position: number): Promise<void> {
    await writeFullyWith(this.#sfs, this.#fd, chunk, 0, chunk.length, position);
    this.#position = Math.max(this.#position, position + chunk.length);
  }

  /**
   * Makes the file durable under its final name: `size` bytes long (default:
   * the end of the last byte written), fsynced, renamed, and the directory
   * fsynced unless `syncDirectory` is false (a caller writing many files into
   * one directory fsyncs it once, after the last).
   */
  async commit(options: { readonly size?: number; readonly syncDirectory?: boolean } = {}): Promise<void> {
    this.#done = true;
    try {
      // A hole at the end has no bytes written after it: the size sets it.
      await this.#sfs.ftruncate(this.#fd, options.size ?? this.#position);
      await this.#sfs.fsync(this.#fd);
      await this.#close();
      await this.#sfs.rename(this.#temp, this.path);
      if (options.syncDirectory !== false) await fsyncDirectoryWith(this.#sfs, dirname(this.path));
    } catch (err) {
      await this.#close().catch(() => {});
      await removeIfPresentWith(this.#sfs, this.#temp);
      throw err;
    }
  }

  /** Removes the temporary file (after a failure); does nothing after commit(). */
  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#close().catch(() => {});
    await removeIfPresentWith(this.#sfs, this.#temp).catch(() => {});
  }

  async #close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await this.#sfs.close(this.#fd);
  }
}

/** The smallest all-zero chunk left as a hole (one page: smaller holes save nothing). */
const HOLE_MIN = 4096;
const ZEROS = new Uint8Array(1 << 20);

function isZero(chunk: Uint8Array): boolean {
  for (let at = 0; at < chunk.length; at += ZEROS.length) {
    const part = chunk.subarray(at, Math.min(chunk.length, at + ZEROS.length));
    if (Buffer.compare(part, ZEROS.subarray(0, part.length)) !== 0) return false;
  }
  return true;
}

async function exists(sfs: StoreFs, path: string): Promise<boolean> {
  try {
    await sfs.stat(path);
    return true;
  } catch {
    return false;
  }
}
