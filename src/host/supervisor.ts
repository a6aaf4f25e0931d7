import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { setChildSubreaper } from '../sys/index.js';
import { SnapshotStore, type Generation, type Reason } from '../store/index.js';
import {
  HeaderWatch, carryOver, copyMemoryFile, createSharedFile, growTo, publishDurable, restoreImage, sizeOf,
  type CaptureResult, type CarryOver,
} from '../live/index.js';
import { CaptureQueue, type CaptureOutcome } from './capture-queue.js';
import {
  describeExit, exitStatus, requireTrampoline, resolveCommand, startChild, type ChildExit, type StartedChild,
} from './child-process.js';
import type { Logger } from './logger.js';
import { killGroupAndWait, signalGroup } from './process-group.js';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';
import { inheritedSharedFile } from './inherited-file.js';
import { HostState } from './host-state.js';
import { humanBytes } from '../human-bytes.js';
import { startControlServer, type ControlServer } from './control/index.js';
import { Wakeup } from './wakeup.js';

export interface SupervisorOptions {
  readonly dir: string;
  /** Size of a new shared file (never smaller than the image restored into it). */
  readonly size: number;
  /** Time between interval captures; 0 = only post-mortem and shutdown captures. */
  readonly intervalMs: number;
  readonly keep: number;
  readonly restart: RestartPolicyOptions;
  /** After forwarding a stop signal, SIGKILL the child's group after this. */
  readonly stopTimeoutMs: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** Serve `status` and `snapshot` on a unix socket in the snapshot directory (default true). */
  readonly controlChannel?: boolean;
}

/** A stop signal the host forwards to the child before its final capture. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
// Failing captures (disk full, read-only) back off, but not so far that a
// directory which recovered goes unnoticed for long.
const MAX_CAPTURE_BACKOFF_MS = 5_000;

/**
 * Runs one child under the host until it is stopped or gives up, keeping its
 * shared memory across deaths and captures on disk. Resolves to the exit
 * status the host should end with.
 */
export class Supervisor {
  readonly options: SupervisorOptions;
  readonly state: HostState;
  readonly #log: Logger;
  readonly #env: NodeJS.ProcessEnv;
  #store!: SnapshotStore;
  #fd = -1;
  #inherited = false;
  #watch: HeaderWatch | null = null;
  #child: StartedChild | null = null;
  #stopSignal: NodeJS.Signals | null = null;
  #forced = false;
  #wakeup = new Wakeup();
  #captures!: CaptureQueue;
  /**
   * The post-mortem capture of a file already carried over, while it runs.
   * The next carry-over waits for it, so at most three files (that one,
   * the current, the next) are held in memory in a crash loop.
   */
  #backgroundCapture: Promise<void> = Promise.resolve();
  /** Processes of the last child's group that would not die (they may still write its file). */
  #lingering = false;
  #capturedWriteOffset: bigint | null = null;
  #intervalTimer: NodeJS.Timeout | null = null;
  #captureFailures = 0;
  #signalHandlers: Array<[string, () => void]> = [];
  #control: ControlServer | null = null;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.#log = options.logger;
    this.#env = options.env ?? process.env;
    this.state = new HostState(options.command, options.args);
  }

  async run(): Promise<number> {
    const { options } = this;
    requireTrampoline(this.#env);
    resolveCommand(options.command, this.#env);
    setChildSubreaper();
    this.#store = await SnapshotStore.open(options.dir, { keep: options.keep });
    this.#captures = new CaptureQueue(this.#store, this.#log, this.state);
    try {
      this.#installSignalHandlers();
      await this.#prepareFirstFile();
      if (options.controlChannel !== false) await this.#startControlChannel();
      const policy = new RestartPolicy(options.restart);
      for (;;) {
        if (this.#stopSignal !== null) {
          this.#log.log('info', 'stopped', `stopped by ${this.#stopSignal} before the child started`);
          return 128 + (constants.signals[this.#stopSignal] ?? 0);
        }
        const exit = await this.#runChildOnce();
        const status = exitStatus(exit, constants.signals);
        if (this.#stopSignal !== null) {
          await this.#postMortem('shutdown');
          this.#log.log('info', 'stopped', `stopped by ${this.#stopSignal}; the child ${describeExit(exit)}`, { status });
          return status;
        }
        const decision = policy.decide(exit, Date.now());
        if (!decision.restart) {
          await this.#postMortem('post-mortem');
          const level = decision.why === 'too-many' ? 'error' : 'info';
          this.#log.log(level, 'not-restarting', decision.message, { status });
          return decision.why === 'too-many' && status === 0 ? 1 : status;
        }
        this.state.restarts = decision.count;
        this.state.phase = 'restarting';
        await this.#prepareNextFile();
        this.#log.log('info', 'restart', `restarting the child (restart ${decision.count}) in ${decision.delayMs} ms`, {
          restart: decision.count, delayMs: decision.delayMs,
        });
        if (await this.#wakeup.sleep(decision.delayMs)) {
          this.#log.log('info', 'stopped', `stopped by ${this.#stopSignal} while waiting to restart`, { status });
          return status;
        }
      }
    } finally {
      this.#removeSignalHandlers();
      this.#stopIntervalCaptures();
      // No new capture can be asked for now; the queued ones (a post-mortem
      // capture in the background) end before the file and store close.
      await this.#control?.close();
      await this.#captures.drained();
      this.#watch?.close();
      if (this.#fd >= 0 && !this.#inherited) closeSync(this.#fd);
      await this.#store.close();
    }
  }

  /** Asks the host to stop as if it received `signal`. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.#onStopSignal(signal);
  }

  /** A capture now (SIGUSR1, or the live channel); resolves once it is durable. */
  requestCapture(): Promise<CaptureResult> {
    if (this.#fd < 0) return Promise.reject(new Error('no shared file yet: the host is still restoring it'));
    return this.#capture('request', false);
  }

  // --- the shared file --------------------------------------------------

  async #prepareFirstFile(): Promise<void> {
    const inherited = inheritedSharedFile(this.#env);
    if (inherited !== null) {
      this.#inherited = true;
      const size = growTo(inherited, this.options.size);
      this.#useFile(inherited);
      this.#log.log('info', 'inherited', `using the shared file passed by the service manager (${humanBytes(size)}); not restoring over it`);
      return;
    }
    const fd = await this.#restoredFile();
    this.#useFile(fd);
  }

  /** A new shared file holding the newest verified generation, or an empty one. */
  async #restoredFile(): Promise<number> {
    const found = await this.#store.newestVerified();
    for (const skipped of found.skipped) {
      this.#log.log('warn', 'fallback', `generation ${skipped.sequence} is unusable (${skipped.reason}); falling back to an older one`, skipped);
    }
    const generation = found.generation;
    if (!generation) {
      const fd = createSharedFile(this.options.size);
      this.#log.log('info', 'empty', `no snapshot to restore in ${this.options.dir}: starting with an empty ${humanBytes(this.options.size)} shared file`);
      return fd;
    }
    const size = Math.max(this.options.size, generation.manifest.imageSize);
    const fd = createSharedFile(size);
    try {
      await restoreImage(generation, fd, size);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.#logRestored(generation, size);
    return fd;
  }

  #logRestored(generation: Generation, size: number): void {
    const m = generation.manifest;
    const latest = m.latest ? `latest record at offset ${m.latest.offset}` : 'no records';
    this.#log.log('info', 'restored', `restored generation ${m.sequence} (${m.reason}, ${m.records} records, ${latest}) into a ${humanBytes(size)} shared file`, {
      sequence: m.sequence, reason: m.reason, records: m.records, latestOffset: m.latest?.offset ?? null, size,
    });
  }

  #useFile(fd: number): void {
    const watch = new HeaderWatch(fd);
    this.#watch?.close();
    this.#fd = fd;
    this.#watch = watch;
    this.#capturedWriteOffset = watch.writeOffset();
  }

  /**
   * Closes a file the host switched away from, after every capture queued
   * so far: a capture takes its file when it is asked for, so those may
   * still read it.
   */
  #retire(fd: number): void {
    void this.#captures.exclusive(async () => closeSync(fd));
  }

  /**
   * Gives the next child a fresh file, so nothing that still holds the old
   * one (a stray grandchild) can write into it. Normally the dead child's
   * memory is carried over, proven unchanged while it was copied, and its
   * post-mortem capture is written in the background while the next child
   * starts. When the carry-over proves nothing (an invalid layout, a file
   * still being written), the capture comes first and decides: the newest
   * verified generation, or the old file copied as is when the disk
   * refused it.
   */
  async #prepareNextFile(): Promise<void> {
    if (this.#inherited) {
      await this.#postMortem('post-mortem');
      return;
    }
    // One background capture at a time: each holds a whole old file in memory.
    await this.#backgroundCapture;
    const old = this.#fd;
    if (!this.#lingering && await this.#carryOverFrom(old)) return;
    const captured = await this.#postMortem('post-mortem');
    await this.#captures.exclusive(() => this.#replaceFile(old, captured));
  }

  /** Switches to a proven copy of `old` and captures `old` in the background; false if nothing was proven. */
  async #carryOverFrom(old: number): Promise<boolean> {
    let fd = -1;
    let carried: CarryOver;
    try {
      fd = createSharedFile(Math.max(this.options.size, sizeOf(old)));
      carried = await carryOver(old, fd);
    } catch (err) {
      // No memory file or mapping to be had, say: the capture path may still manage.
      carried = { kind: 'refused', reason: `the child's memory could not be copied (${err instanceof Error ? err.message : String(err)})` };
    }
    if (carried.kind === 'refused') {
      if (fd >= 0) closeSync(fd);
      this.#log.log('warn', 'carry-refused', `${carried.reason}; capturing it before restarting`, { reason: carried.reason });
      return false;
    }
    this.#useFile(fd);
    const latest = carried.latest ? `latest record at offset ${carried.latest.offset}` : 'no records';
    this.#log.log('info', 'carried', `carried the child's memory over into a new ${humanBytes(carried.size)} shared file (${carried.records} records, ${latest}); its post-mortem capture is written meanwhile`, {
      records: carried.records, latestOffset: carried.latest?.offset.toString() ?? null, size: carried.size,
    });
    this.#backgroundCapture = this.#captures.exclusive(() => this.#captureCarried(old, fd, carried.latest));
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
      try {
        closeSync(old);
      } catch {
        // Closed already: nothing to give back.
      }
    }
    if (!told && latest !== null && this.#fd === next) this.#capturedWriteOffset = null;
  }

  /** Switches from `old` to the newest verified generation, or to a copy of `old` when its capture could not be stored. */
  async #replaceFile(old: number, captured: CaptureOutcome): Promise<void> {
    let fd: number | null = null;
    if (captured.kind !== 'io-error') {
      try {
        fd = await this.#restoredFile();
      } catch (err) {
        // The old file still holds the state: better it than nothing.
        this.#log.log('error', 'restore-failed', `no generation could be restored (${err instanceof Error ? err.message : String(err)}); carrying the child's memory over as it is`);
      }
    }
    if (fd === null) {
      const size = Math.max(this.options.size, sizeOf(old));
      fd = createSharedFile(size);
      await copyMemoryFile(old, fd);
      if (captured.kind === 'io-error') {
        this.#log.log('warn', 'carried-as-is', `the snapshot could not be stored, so the child's memory was carried over as it is (${humanBytes(size)})`);
      }
    }
    this.#useFile(fd);
    this.#retire(old);
  }

  // --- the child ---------------------------------------------------------

  async #startControlChannel(): Promise<void> {
    try {
      this.#control = await startControlServer(this.options.dir, {
        status: () => this.state.status(this.options.dir, this.options.intervalMs),
        snapshot: async () => ({ sequence: (await this.requestCapture()).generation.sequence }),
      }, {
        onError: (err) => this.#log.log('warn', 'control', `live channel: ${err instanceof Error ? err.message : String(err)}`),
      });
    } catch (err) {
      // The child's state matters more than the channel: run without it.
      this.#log.log('warn', 'control', `no live channel (status/snapshot commands will not reach this host): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async #runChildOnce(): Promise<ChildExit> {
    const { command, args } = this.options;
    this.#forced = false;
    const child = startChild(command, args, this.#fd, this.#env);
    this.#child = child;
    this.state.childStarted(child.pid, child.startedAt);
    this.#log.log('info', 'started', `started child ${child.pid}: ${[command, ...args].join(' ')}`, { pid: child.pid });
    this.#startIntervalCaptures();
    const ended = await child.exited;
    this.#child = null;
    this.#stopIntervalCaptures();
    const exit: ChildExit = { ...ended, forced: this.#forced };
    this.state.childExited(exit);
    const lingering = await killGroupAndWait(child.pid);
    this.#lingering = lingering.length > 0;
    if (lingering.length > 0) {
      this.#log.log('warn', 'lingering', `processes ${lingering.join(', ')} of the child's group would not die; continuing with a new shared file`);
    }
    this.#log.log(exit.signal === null && exit.code === 0 ? 'info' : 'warn', 'exit',
      `child ${exit.pid} ${describeExit(exit)}${exit.forced ? ' (forced after --stop-timeout)' : ''} after ${(exit.ranMs / 1000).toFixed(1)}s`,
      { pid: exit.pid, code: exit.code, signal: exit.signal, forced: exit.forced, ranMs: exit.ranMs });
    return exit;
  }

  #installSignalHandlers(): void {
    for (const signal of STOP_SIGNALS) {
      const handler = (): void => this.#onStopSignal(signal);
      process.on(signal, handler);
      this.#signalHandlers.push([signal, handler]);
    }
    const onUsr1 = (): void => void this.requestCapture().catch(() => {});
    process.on('SIGUSR1', onUsr1);
    this.#signalHandlers.push(['SIGUSR1', onUsr1]);
  }

  #removeSignalHandlers(): void {
    for (const [signal, handler] of this.#signalHandlers) process.off(signal, handler);
    this.#signalHandlers = [];
  }

  #onStopSignal(signal: NodeJS.Signals): void {
    const first = this.#stopSignal === null;
    this.#stopSignal ??= signal;
    if (first) this.#log.log('info', 'stopping', `received ${signal}: stopping the child (SIGKILL after ${this.options.stopTimeoutMs} ms)`);
    if (this.#child) this.state.phase = 'stopping';
    this.#wakeup.wake();
    if (this.#child) this.#forwardStop(signal);
  }

  #forwardStop(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (!child) return;
    try {
      process.kill(child.pid, signal);
    } catch {
      // Already gone: its exit is on its way.
    }
    const timer = setTimeout(() => {
      if (this.#child !== child) return;
      this.#forced = true;
      signalGroup(child.pid, 'SIGKILL');
    }, this.options.stopTimeoutMs);
    timer.unref();
    void child.exited.then(() => clearTimeout(timer));
  }

  // --- captures ------------------------------------------------------------

  #startIntervalCaptures(): void {
    if (this.options.intervalMs <= 0) return;
    this.#scheduleIntervalCapture(this.options.intervalMs);
  }

  #scheduleIntervalCapture(delayMs: number): void {
    this.#stopIntervalCaptures();
    this.state.nextCaptureDue = Date.now() + delayMs;
    this.#intervalTimer = setTimeout(() => void this.#intervalTick(), delayMs);
  }

  #stopIntervalCaptures(): void {
    if (this.#intervalTimer) clearTimeout(this.#intervalTimer);
    this.#intervalTimer = null;
    this.state.nextCaptureDue = null;
  }

  async #intervalTick(): Promise<void> {
    this.#intervalTimer = null;
    const child = this.#child;
    if (!child) return;
    const writeOffset = this.#watch?.writeOffset() ?? null;
    let next = this.options.intervalMs;
    // An idle (or never attached) child costs neither disk nor CPU.
    if (writeOffset !== null && writeOffset !== this.#capturedWriteOffset) {
      try {
        await this.#capture('interval', false);
        this.#captureFailures = 0;
      } catch {
        this.#captureFailures += 1;
        next = Math.min(this.options.intervalMs * 2 ** this.#captureFailures, Math.max(MAX_CAPTURE_BACKOFF_MS, this.options.intervalMs));
      }
    }
    if (this.#child === child) this.#scheduleIntervalCapture(next);
  }

  /**
   * Captures the current shared file, after the captures queued before;
   * logs failures and rethrows them. The file is the one current now: if
   * the host switches files meanwhile, this still captures the old one
   * (which stays open until then), so generations keep the order of events.
   */
  #capture(reason: Reason, postMortem: boolean): Promise<CaptureResult> {
    const fd = this.#fd;
    return this.#captures.exclusive(async () => {
      const current = this.#fd === fd;
      const before = current ? this.#watch?.writeOffset() ?? null : null;
      const result = await this.#captures.captureNow(fd, reason, postMortem);
      // Interval captures skip the file until its write offset moves on from here.
      if (current && this.#fd === fd) this.#capturedWriteOffset = before;
      return result;
    });
  }

  /** The capture after the child's group is gone: exact, nothing writes any more. */
  #postMortem(reason: Reason): Promise<CaptureOutcome> {
    const fd = this.#fd;
    return this.#captures.exclusive(() => this.#captures.finalCaptureNow(fd, reason));
  }
}

/** Runs a supervisor to the end; see Supervisor. */
export function supervise(options: SupervisorOptions): Promise<number> {
  return new Supervisor(options).run();
}
