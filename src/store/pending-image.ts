// One generation being written, and the durable write sequence that turns
// it into a committed generation (docs/FORMAT.md, section 9):
//   image to a temporary name, fsync; rename;
//   manifest to a temporary name, fsync; rename (the commit point);
//   fsync the directory.
// An image without its manifest does not exist, so a crash anywhere leaves
// either the previous generations alone or the new one complete.
import fs from 'node:fs';
import { basename, join } from 'node:path';
import { StoreError, storeIoError } from './errors.js';
import { fsyncDirectoryWith, removeIfPresentWith, writeFullyWith, type StoreFs } from './fs.js';
import { BLOCK_SIZE } from '../format/index.js';
import { DeltaWriter } from './delta-file.js';
import { FULL, buildManifest, serializeManifest, type ChainFacts } from './manifest.js';
import { generationPaths, temporaryName } from './names.js';
import { WritebackPump } from './writeback-pump.js';
import type { Generation, ManifestFields, PendingImage } from './types.js';

const CREATE = fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/** What the store does once a generation is durable (retention). */
export type AfterCommit = (generation: Generation) => Promise<void>;

/**
 * Creates the temporary image of generation `sequence` in `dir`, or its
 * temporary delta file when `parent` is given (a delta of that generation).
 */
export async function createPendingImage(sfs: StoreFs, dir: string, sequence: number, afterCommit: AfterCommit, parent: Generation | null = null): Promise<PendingImage> {
  const { imagePath } = generationPaths(dir, sequence, parent === null ? 'full' : 'delta');
  const path = join(dir, temporaryName(basename(imagePath)));
  let fd: number;
  try {
    fd = await sfs.open(path, fs.constants.O_RDWR | CREATE, 0o600);
  } catch (err) {
    throw storeIoError('create snapshot image', path, err);
  }
  return new Pending(sfs, dir, sequence, fd, path, new Date(), afterCommit, parent);
}

class Pending implements PendingImage {
  readonly fd: number;
  readonly path: string;
  readonly parent: Generation | null;
  readonly #writer: DeltaWriter | null;
  /** A full image's bytes handed to the disk as they are written (a delta's writer has its own). */
  readonly #writeback: WritebackPump | null;
  readonly #dir: string;
  readonly #sequence: number;
  readonly #time: Date;
  readonly #afterCommit: AfterCommit;
  readonly #sfs: StoreFs;
  #state: 'open' | 'closing' | 'done' = 'open';

  constructor(sfs: StoreFs, dir: string, sequence: number, fd: number, path: string, time: Date, afterCommit: AfterCommit, parent: Generation | null) {
    this.parent = parent;
    this.#writer = parent === null ? null : new DeltaWriter(sfs, fd, BLOCK_SIZE);
    this.#writeback = parent === null ? new WritebackPump(sfs, fd, 0) : null;
    this.#sfs = sfs;
    this.#dir = dir;
    this.#sequence = sequence;
    this.fd = fd;
    this.path = path;
    this.#time = time;
    this.#afterCommit = afterCommit;
  }

  #begin(what: string): void {
    if (this.#state !== 'open') {
      throw new StoreError('CLOSED', `cannot ${what} snapshot image ${this.path}: it was already committed or aborted`, { path: this.path, hint: 'create a new image' });
    }
    this.#state = 'closing';
  }

  write(buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
    return writeFullyWith(this.#sfs, this.fd, buf, offset, length, position);
  }

  truncate(size: number): Promise<void> {
    return this.#sfs.ftruncate(this.fd, size);
  }

  written(end: number): void {
    if (this.#state === 'open') this.#writeback?.written(end);
  }

  /** Resolves once no write or writeback request of this image is in flight: before its file is fsynced or closed. */
  async #settled(): Promise<void> {
    await this.#writer?.settled();
    await this.#writeback?.idle();
  }

  get kind(): 'full' | 'delta' {
    return this.parent === null ? 'full' : 'delta';
  }

  async putBlock(index: number, bytes: Uint8Array | null): Promise<void> {
    if (this.#writer === null) throw new Error('putBlock() is for a delta; a full image is written through its fd');
    if (this.#state !== 'open') throw new StoreError('CLOSED', `cannot write delta ${this.path}: it was already committed or aborted`, { path: this.path, hint: 'create a new image' });
    await this.#writer.put(index, bytes);
  }

  async commit(fields: ManifestFields, imageSize?: number): Promise<Generation> {
    this.#begin('commit');
    const dir = this.#dir;
    const sfs = this.#sfs;
    const { imagePath, manifestPath } = generationPaths(dir, this.#sequence, this.kind);
    const manifestTemp = join(dir, temporaryName(basename(manifestPath)));
    let fdOpen = true;
    let step = 'sync snapshot image';
    let stepPath = this.path;
    let generation: Generation;
    try {
      let size: number;
      let chain: ChainFacts = FULL;
      step = 'write snapshot delta';
      if (this.#writer !== null && this.parent !== null) {
        if (imageSize === undefined) throw new RangeError('a delta commit needs the image size');
        const { header, fileBytes, fileChecksum } = await this.#writer.finish(imageSize);
        const p = this.parent.manifest;
        size = imageSize;
        chain = {
          parent: this.parent.sequence,
          chain: { links: p.chain.links + 1, bytes: p.chain.bytes + fileBytes },
          delta: { blockSize: header.blockSize, held: header.held, stored: header.stored, fileBytes, fileChecksum },
        };
      } else {
        size = (await sfs.fstat(this.fd)).size;
      }
      const manifest = buildManifest(this.#sequence, this.#time, size, fields, chain);
      // The data file's fsync and rename, and the manifest's write and fsync
      // under its temporary name, at once: each waits for its own disk
      // flush, and neither needs the other. Both are done before the
      // manifest's rename, the commit point.
      const failed: { step: string; path: string; err: unknown }[] = [];
      const attempt = (what: string, path: string, work: Promise<unknown>): Promise<unknown> => work.catch((err: unknown) => failed.push({ step: what, path, err }));
      await Promise.all([
        attempt('sync snapshot image', this.path, (async () => {
          await this.#writeback?.idle();
          await sfs.fsync(this.fd);
          fdOpen = false;
          await sfs.close(this.fd);
          await attempt('rename snapshot image to', imagePath, sfs.rename(this.path, imagePath));
        })()),
        attempt('write snapshot manifest', manifestTemp, writeDurably(sfs, manifestTemp, serializeManifest(manifest))),
      ]);
      if (failed.length > 0) {
        step = failed[0]!.step;
        stepPath = failed[0]!.path;
        throw failed[0]!.err;
      }
      step = 'rename snapshot manifest to';
      stepPath = manifestPath;
      await sfs.rename(manifestTemp, manifestPath); // the commit point
      generation = { sequence: this.#sequence, manifest, imagePath, manifestPath };
    } catch (err) {
      await this.#settled();
      if (fdOpen) await sfs.close(this.fd).catch(() => {});
      // Nothing was committed: remove every piece, including an image renamed already.
      for (const p of [this.path, imagePath, manifestTemp]) await removeIfPresentWith(sfs, p).catch(() => {});
      this.#state = 'done';
      throw storeIoError(step, stepPath, err);
    }
    this.#state = 'done';
    try {
      await fsyncDirectoryWith(sfs, dir);
    } catch (err) {
      // Committed in the namespace but maybe not on the disk: report it, so
      // nobody publishes it as durable. The generation itself is complete.
      throw storeIoError('sync snapshot directory', dir, err);
    }
    await this.#afterCommit(generation);
    return generation;
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'done';
    // A batch write still in flight would otherwise land on whatever file reuses the descriptor.
    await this.#settled();
    await this.#sfs.close(this.fd).catch(() => {});
    await removeIfPresentWith(this.#sfs, this.path).catch(() => {});
  }
}

/** Writes `text` to a new file at `path` (0600) and fsyncs it. */
async function writeDurably(sfs: StoreFs, path: string, text: string): Promise<void> {
  const fd = await sfs.open(path, fs.constants.O_WRONLY | CREATE, 0o600);
  try {
    const bytes = Buffer.from(text, 'utf8');
    await writeFullyWith(sfs, fd, bytes, 0, bytes.length, 0);
    await sfs.fsync(fd);
  } finally {
    await sfs.close(fd);
  }
}
