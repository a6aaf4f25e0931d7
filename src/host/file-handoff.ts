// The shared file the child runs on, and handing it from one child to the
// next: restored from the newest verified generation at start, carried
// over (or replaced) at each restart, old files retired once no capture
// reads them any more.
import { closeSync } from 'node:fs';
import { freemem } from 'node:os';
import type { SnapshotStore } from '../store/index.js';
import {
  HeaderWatch, carryOver, copyMemoryFile, createSharedFile, publishDurable, sealAgainstShrink, sizeOf, type CarryOver,
} from '../live/index.js';
import { humanBytes } from '../human-bytes.js';
import { ShmHostError } from '../errors.js';
import type { CaptureOutcome, CaptureQueue } from './capture-queue.js';
import { KeptFiles } from './kept-files.js';
import { restoreNewest } from './restore-newest.js';
import type { Logger } from './logger.js';
import { takeHandover } from './notify/index.js';

/** The current shared file and what the host knows about it. */
export class SharedFiles {
  /** The current file, or -1 before the first one is ready. */
  fd = -1;
  watch: HeaderWatch | null = null;
  /** write_offset at the last capture of the current file; interval captures skip it until it moves. */
  capturedWriteOffset: bigint | null = null;
  /** Processes of the last child's group that would not die (they may still write its file). */
  lingering = false;
  readonly #store: SnapshotStore;
  readonly #captures: CaptureQueue;
  readonly #log: Logger;
  readonly #dir: string;
  readonly #size: number;
  /** The memfd name of every file this host creates (see sharedFileName). */
  readonly #name: string;
  readonly #onFileChanged: (fd: number) => void;
  /**
   * Post-mortem captures of carried-over files, each holding a whole old file in memory: a carry-over
   * waits for the oldest only while they would hold over a quarter of the available memory.
   */
  #background: Array<{ readonly done: Promise<void>; readonly bytes: number }> = [];
  /** Starts of those captures, run once the next child is spawned (startBackground). */
  #deferred: Array<() => void> = [];
  readonly #used = new KeptFiles();

  /** `onFileChanged` is told each file a child is about to get (the service manager's fd store keeps it). */
  constructor(
    store: SnapshotStore, captures: CaptureQueue, log: Logger,
    options: { readonly dir: string; readonly size: number; readonly name: string; readonly onFileChanged?: (fd: number) => void },
  ) {
    this.#onFileChanged = options.onFileChanged ?? (() => {});
    captures.keptMapping = (fd) => this.#used.get(fd);
    this.#store = store;
    this.#captures = captures;
    this.#log = log;
    this.#dir = options.dir;
    this.#size = options.size;
    this.#name = options.name;
  }

  /**
   * The first file. One the service manager kept (its fd store, passed as
   * LISTEN_FDS naming SHM_SHARED_FD) is the last child's exact memory: it
   * is taken as a carry-over takes a dead child's file (copied, proven,
   * captured in the background); refused if it proves nothing. Otherwise
   * the newest verified generation, else an empty file.
   */
  async prepareFirst(env: NodeJS.ProcessEnv): Promise<void> {
    const handed = takeHandover(env, process.pid);
    for (const c of handed.kind === 'none' ? [] : handed.closed) {
      this.#log.log('warn', 'handover-closed', `closed fd ${c.fd} (${c.name}) passed by the service manager: only one shared file is used`, { ...c });
    }
    if (handed.kind === 'unusable') this.#log.log('warn', 'handover-unusable', handed.reason);
    // Sealed where it can be, so nothing can make the carry-over's mapping die of SIGBUS; the child gets a sealed copy.
    if (handed.kind === 'file') sealAgainstShrink(handed.fd);
    if (handed.kind === 'file' && await this.#carryOverFrom(handed.fd, 'handover')) return;
    this.#use(await this.#restoredFile());
  }

  /**
   * Gives the next child a fresh file, so nothing that still holds the old
   * one (a stray grandchild) can write into it. Normally the dead child's
   * memory is carried over, proven unchanged while it was copied, and its
   * post-mortem capture is written in the background while the next child
   * starts. When the carry-over proves nothing (an invalid layout, a file
   * still being written), the capture comes first and decides: the newest
   * verified generation, or the old file copied as is when the disk
   * refused it. `postMortem` runs the capture of the current file.
   */
  async prepareNext(postMortem: () => Promise<CaptureOutcome>): Promise<void> {
    const old = this.fd;
    const budget = freemem() / 4;
    const held = (): number => this.#background.reduce((sum, b) => sum + b.bytes, 0);
    while (this.#background.length > 0 && held() + sizeOf(old) > budget) await this.#background[0]!.done;
    if (!this.lingering && await this.#carryOverFrom(old)) return;
    const captured = await postMortem();
    await this.#captures.exclusive(() => this.#replaceFile(old, captured));
  }

  /** Starts the carried-over files' post-mortem captures: once the next child is spawned, and before the host ends. */
  startBackground(): void {
    for (const start of this.#deferred.splice(0)) start();
  }

  /** Closes the current file once no capture needs it. */
  close(): void {
    this.watch?.close();
    if (this.fd >= 0) this.#used.close(this.fd);
  }

  /** A new shared file holding the newest generation that verifies, or an empty one (restore-newest.ts). */
  async #restoredFile(): Promise<number> {
    return (await restoreNewest(this.#store, { dir: this.#dir, size: this.#size, name: this.#name }, this.#log)).fd;
  }

  #use(fd: number): void {
    const watch = new HeaderWatch(fd);
    this.watch?.close();
    this.fd = fd;
    this.watch = watch;
    this.#used.use(fd);
    this.capturedWriteOffset = watch.writeOffset();
    this.#onFileChanged(fd);
  }

  /**
   * Closes a file the host switched away from, after every capture queued
   * so far: a capture takes its file when it is asked for, so those may
   * still read it.
   */
  #retire(fd: number): void {
    void this.#captures.exclusive(async () => this.#used.close(fd));
  }

  /**
   * Switches to a proven copy of `old` and captures `old` in the background;
   * false if nothing was proven. `from`: a dead child's file, or the one
   * the service manager handed back (closed when refused).
   */
  async #carryOverFrom(old: number, from: 'child' | 'handover' = 'child'): Promise<boolean> {
    let fd = -1;
    let carried: CarryOver;
    try {
      fd = createSharedFile(Math.max(this.#size, sizeOf(old)), this.#name);
      carried = await carryOver(old, fd);
    } catch (err) {
      // No memory file or mapping to be had, say: the capture path may still manage.
      carried = { kind: 'refused', reason: `the child's memory could not be copied (${err instanceof Error ? err.message : String(err)})` };
    }
    if (carried.kind === 'refused') {
      if (fd >= 0) closeSync(fd);
      if (from === 'child') {
        this.#log.log('warn', 'carry-refused', `${carried.reason}; capturing it before restarting`, { reason: carried.reason });
      } else {
        closeSync(old);
        this.#log.log('error', 'handover-refused', `refused the shared file kept by the service manager: ${carried.reason}; restoring the newest verified generation instead`, { reason: carried.reason });
      }
      return false;
    }
    this.#use(fd);
    const latest = carried.latest ? `latest record at offset ${carried.latest.offset}` : 'no records';
    const fields = { records: carried.records, latestOffset: carried.latest?.offset.toString() ?? null, size: carried.size };
    if (from === 'child') {
      this.#log.log('info', 'carried', `carried the child's memory over into a new ${humanBytes(carried.size)} shared file (${carried.records} records, ${latest}); its post-mortem capture is written meanwhile`, fields);
    } else {
      this.#log.log('info', 'handed-over', `took the last child's memory from the service manager's fd store (${carried.records} records, ${latest}): nothing committed was lost; its capture is written meanwhile`, fields);
    }
    // Queued once the next child is spawned: a capture's hashing on the event
    // loop would otherwise delay the restart's timer and spawn.
    const started = new Promise<void>((resolve) => this.#deferred.push(resolve));
    const entry = { bytes: carried.size, done: started.then(() => this.#captures.exclusive(() => this.#captureCarried(old, fd, carried.latest))) };
    this.#background.push(entry);
    void entry.done.finally(() => this.#background.splice(this.#background.indexOf(entry), 1));
    return true;
  }

  /**
   * The post-mortem capture of a file already carried over into `next`;
   * once durable, `next` learns it too. A failure is logged and loses
   * nothing: the memory lives on in `next`, which is then captured at the
   * next interval even if its child stays idle.
   */
  async #captureCarried(old: number, next: number, latest: { offset: bigint; length: number } | null): Promise<void> {
    let told = false;
    try {
      const result = await this.#captures.captureNow(old, 'post-mortem', true);
      const stored = result.generation.manifest.latest;
      const same = latest !== null && stored !== null && BigInt(stored.offset) === latest.offset && stored.length === latest.length;
      if (same && !result.writerActive) {
        publishDurable(next, latest.offset + BigInt(latest.length), result.generation.manifest.sequence);
        told = true;
      } else if (latest !== null || stored !== null) {
        // Something outside the group wrote the old file after the copy.
        this.#log.log('warn', 'carry-diverged', `generation ${result.generation.manifest.sequence} may not hold what the new file was given: something outside the child's group wrote the old file after it was copied; the new file is captured next`);
      }
    } catch {
      // Logged by the capture.
    } finally {
      this.#used.close(old);
    }
    if (!told && latest !== null && this.fd === next) this.capturedWriteOffset = null;
  }

  /** Switches from `old` to the newest verified generation, or to a copy of `old` when its capture could not be stored. */
  async #replaceFile(old: number, captured: CaptureOutcome): Promise<void> {
    let fd: number | null = null;
    if (captured.kind !== 'io-error') {
      try {
        fd = await this.#restoredFile();
      } catch (err) {
        // A memory that proved nothing, and generations none of which restores: the host stops as at its start, touching none of them.
        if (captured.kind === 'rejected' && err instanceof ShmHostError && err.code === 'NO_USABLE_GENERATION') throw err;
        // The old file still holds the state: better it than nothing.
        this.#log.log('error', 'restore-failed', `no generation could be restored (${err instanceof ShmHostError ? err.problem : err instanceof Error ? err.message : String(err)}); carrying the child's memory over as it is`);
      }
    }
    if (fd === null) {
      const size = Math.max(this.#size, sizeOf(old));
      fd = createSharedFile(size, this.#name);
      await copyMemoryFile(old, fd);
      if (captured.kind === 'io-error') {
        this.#log.log('warn', 'carried-as-is', `the snapshot could not be stored, so the child's memory was carried over as it is (${humanBytes(size)})`);
      }
    }
    this.#use(fd);
    this.#retire(old);
  }
}
