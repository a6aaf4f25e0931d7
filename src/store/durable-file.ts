// Writing a file a user keeps (an export) the safe way: to a temporary name
// beside it, fsync, rename, fsync the directory. An interrupted export never
// leaves a half-written file under the name the user asked for.
import fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncDirectory } from '../sys/index.js';
import { StoreError } from './errors.js';

/** A file being written; commit() publishes it under its final name, abort() removes it. */
export class DurableFile {
  readonly path: string;
  readonly #temp: string;
  readonly #handle: fs.promises.FileHandle;
  #done = false;

  private constructor(path: string, temp: string, handle: fs.promises.FileHandle) {
    this.path = path;
    this.#temp = temp;
    this.#handle = handle;
  }

  /** Starts writing `path` (0600). Unless `overwrite`, an existing file there is StoreError EXISTS. */
  static async create(path: string, overwrite: boolean): Promise<DurableFile> {
    if (!overwrite && fs.existsSync(path)) {
      throw new StoreError('EXISTS', `${path} already exists`, { path, hint: 'remove it or choose another name' });
    }
    const temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
    const handle = await fs.promises.open(temp, 'wx', 0o600);
    return new DurableFile(path, temp, handle);
  }

  /** Appends `chunk`. */
  async write(chunk: Uint8Array): Promise<void> {
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await this.#handle.write(chunk, done, chunk.length - done);
      done += bytesWritten;
    }
  }

  /** Makes the file durable under its final name. */
  async commit(): Promise<void> {
    this.#done = true;
    try {
      await this.#handle.sync();
      await this.#handle.close();
      await fs.promises.rename(this.#temp, this.path);
      await fsyncDirectory(dirname(this.path));
    } catch (err) {
      await this.#handle.close().catch(() => {});
      await fs.promises.rm(this.#temp, { force: true });
      throw err;
    }
  }

  /** Removes the temporary file (after a failure); does nothing after commit(). */
  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#handle.close().catch(() => {});
    await fs.promises.rm(this.#temp, { force: true }).catch(() => {});
  }
}
