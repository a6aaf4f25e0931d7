// The supervisor's loop: start the child on the shared file, wait for its
// exit, capture, decide whether to restart, until it is stopped or gives
// up. The file hand-off, the interval schedule, the signals and the
// restart policy each live in a file of their own.
import { constants } from 'node:os';
import { setChildSubreaper } from '../sys/index.js';
import { SnapshotStore, type Reason } from '../store/index.js';
import type { CaptureResult } from '../live/index.js';
import { CaptureQueue, type CaptureOutcome } from './capture-queue.js';
import {
  describeExit, exitStatus, logChildExit, requireTrampoline, resolveCommand, startChild, type ChildExit, type StartedChild,
} from './child-process.js';
import { openControlChannel } from './control-channel.js';
import type { ControlServer } from './control/index.js';
import { SharedFiles } from './file-handoff.js';
import { EXIT_STATE_LOST, finalCapture } from './final-capture.js';
import { HostState } from './host-state.js';
import { IntervalSchedule } from './interval.js';
import type { Logger } from './logger.js';
import { validateSupervisorOptions, type SupervisorOptions } from './options.js';
import { killGroupAndWait, waitGroupUntil } from './process-group.js';
import { reapOrphansOnSigchld } from './reaper.js';
import { endStaleWriters, sharedFileName } from './stale-writers.js';
import { RestartPolicy } from './restart-policy.js';
import { forwardStop, installSignalHandlers, type SignalHandlers } from './signals.js';
import { Wakeup } from './wakeup.js';

export type { SupervisorOptions } from './options.js';

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
  #files!: SharedFiles;
  #captures!: CaptureQueue;
  #child: StartedChild | null = null;
  #stopSignal: NodeJS.Signals | null = null;
  #forced = false;
  /** The process group a stop signal went to, while the host waits for it (compared by pid). */
  #stoppingGroup: number | null = null;
  /** performance.now() ms at which a stop turns into SIGKILL (--stop-timeout after the first stop signal). */
  #stopDeadline: number | null = null;
  #wakeup = new Wakeup();
  #interval: IntervalSchedule;
  #signals: SignalHandlers | null = null;
  #stopReaping: () => void = () => {};
  #control: ControlServer | null = null;

  /** Throws a TypeError or RangeError for options that are wrong (see validateSupervisorOptions). */
  constructor(options: SupervisorOptions) {
    validateSupervisorOptions(options);
    this.options = options;
    this.#log = options.logger;
    this.#env = options.env ?? process.env;
    this.state = new HostState(options.command, options.args);
    this.#interval = new IntervalSchedule(options.intervalMs, this.state, {
      child: () => this.#child,
      committedSince: () => {
        const writeOffset = this.#files.watch?.writeOffset() ?? null;
        return writeOffset !== null && writeOffset !== this.#files.capturedWriteOffset;
      },
      capture: () => this.#capture('interval', false),
    });
  }

  async run(): Promise<number> {
    const { options } = this;
    requireTrampoline(this.#env);
    resolveCommand(options.command, this.#env);
    setChildSubreaper();
    this.#store = await SnapshotStore.open(options.dir, { keep: options.keep });
    this.#captures = new CaptureQueue(this.#store, this.#log, this.state);
    const name = sharedFileName(options.dir);
    this.#files = new SharedFiles(this.#store, this.#captures, this.#log, { ...options, name });
    this.state.header = () => this.#files.watch?.durable() ?? null;
    try {
      this.#stopReaping = reapOrphansOnSigchld();
      this.#signals = installSignalHandlers((signal) => this.#onStopSignal(signal), () => void this.requestCapture().catch(() => {}));
      await endStaleWriters(name, this.#log, 'start');
      await this.#files.prepareFirst(this.#env);
      if (options.controlChannel !== false) {
        this.#control = await openControlChannel(options.dir, this.#log, {
          status: () => this.state.status(options.dir, options.intervalMs),
          snapshot: async () => ({ sequence: (await this.requestCapture()).generation.sequence }),
        });
      }
      return await this.#loop();
    } finally {
      this.#signals?.remove();
      this.#stopReaping();
      this.#interval.stop();
      // No new capture can be asked for now; the queued ones (a post-mortem
      // capture in the background) end before the file and store close.
      await this.#control?.close();
      await this.#captures.drained();
      this.#files.close();
      await endStaleWriters(name, this.#log, 'end');
      await this.#store.close();
    }
  }

  /** Asks the host to stop as if it received `signal`. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.#onStopSignal(signal);
  }

  /** A capture now (SIGUSR1, or the live channel); resolves once it is durable. */
  requestCapture(): Promise<CaptureResult> {
    if (this.#files === undefined || this.#files.fd < 0) return Promise.reject(new Error('no shared file yet: the host is still restoring it'));
    return this.#capture('request', false);
  }

  /** Child after child, until a stop signal or the restart policy ends it; resolves to the exit status. */
  async #loop(): Promise<number> {
    const policy = new RestartPolicy(this.options.restart);
    for (;;) {
      if (this.#stopSignal !== null) {
        this.#log.log('info', 'stopped', `stopped by ${this.#stopSignal} before the child started`);
        return 128 + (constants.signals[this.#stopSignal] ?? 0);
      }
      const exit = await this.#runChildOnce();
      const status = exitStatus(exit, constants.signals);
      if (this.#stopSignal !== null) {
        const durable = await this.#finalCapture('shutdown');
        this.#log.log('info', 'stopped', `stopped by ${this.#stopSignal}; the child ${describeExit(exit)}`, { status });
        return durable ? status : EXIT_STATE_LOST;
      }
      const decision = policy.decide(exit, performance.now());
      if (!decision.restart) {
        const durable = await this.#finalCapture('post-mortem');
        const level = decision.why === 'too-many' ? 'error' : 'info';
        this.#log.log(level, 'not-restarting', decision.message, { status });
        if (!durable) return EXIT_STATE_LOST;
        return decision.why === 'too-many' && status === 0 ? 1 : status;
      }
      this.state.restarts = decision.count;
      this.state.phase = 'restarting';
      // After a failed start nothing ran on the file: the next try gets it as it is.
      if (exit.startError === undefined) await this.#files.prepareNext(() => this.#postMortem('post-mortem'));
      this.#log.log('info', 'restart', `restarting the child (restart ${decision.count}) in ${decision.delayMs} ms`, {
        restart: decision.count, delayMs: decision.delayMs,
      });
      if (await this.#wakeup.sleep(decision.delayMs)) {
        // The carried memory may not be on disk yet (its capture runs in the background, and may fail).
        const durable = await this.#finalCapture('shutdown');
        this.#log.log('info', 'stopped', `stopped by ${this.#stopSignal} while waiting to restart`, { status });
        return durable ? status : EXIT_STATE_LOST;
      }
    }
  }

  async #runChildOnce(): Promise<ChildExit> {
    const { command, args } = this.options;
    this.#forced = false;
    const child = await startChild(command, args, this.#files.fd, this.#env);
    if ('errno' in child) {
      // Nothing ran, so nothing wrote the file: a failed start, for the restart policy to judge.
      this.#log.log('error', 'start-failed', `${child.message}; the restart policy decides when to try again`, { errno: child.errno });
      return { pid: 0, code: null, signal: null, forced: false, ranMs: 0, startError: child.errno };
    }
    this.#child = child;
    this.state.childStarted(child.pid, Date.now());
    this.#log.log('info', 'started', `started child ${child.pid}: ${[command, ...args].join(' ')}`, { pid: child.pid });
    // A stop signal that came while the child was being started is forwarded now.
    if (this.#stopSignal !== null) this.#onStopSignal(this.#stopSignal);
    this.#interval.start();
    const ended = await child.exited;
    this.#child = null;
    this.#interval.stop();
    // On a stop, the rest of the group (the program a shell ran, its
    // helpers) has until --stop-timeout to run its shutdown handlers too.
    if (this.#stopDeadline !== null && !(await waitGroupUntil(child.pid, this.#stopDeadline))) this.#forced = true;
    this.#stoppingGroup = null;
    const exit: ChildExit = { ...ended, forced: this.#forced };
    this.state.childExited(exit);
    const lingering = await killGroupAndWait(child.pid);
    this.#files.lingering = lingering.length > 0;
    if (lingering.length > 0) {
      this.#log.log('warn', 'lingering', `processes ${lingering.join(', ')} of the child's group would not die; continuing with a new shared file`);
    }
    logChildExit(this.#log, exit);
    return exit;
  }

  #onStopSignal(signal: NodeJS.Signals): void {
    const first = this.#stopSignal === null;
    this.#stopSignal ??= signal;
    if (first) {
      this.#stopDeadline = performance.now() + this.options.stopTimeoutMs;
      this.#log.log('info', 'stopping', `received ${signal}: stopping the child's process group (SIGKILL after ${this.options.stopTimeoutMs} ms)`);
    }
    if (this.#child) this.state.phase = 'stopping';
    this.#wakeup.wake();
    const child = this.#child;
    if (child) {
      const pgid = child.pid;
      this.#stoppingGroup = pgid;
      const left = Math.max(0, (this.#stopDeadline ?? 0) - performance.now());
      // The group may outlive its leader: the kill applies while the host still waits for the group.
      forwardStop(pgid, signal, left, () => this.#stoppingGroup === pgid, () => {
        this.#forced = true;
      });
    }
  }

  /**
   * Captures the current shared file, after the captures queued before;
   * logs failures and rethrows them. The file is the one current now: if
   * the host switches files meanwhile, this still captures the old one
   * (which stays open until then), so generations keep the order of events.
   */
  #capture(reason: Reason, postMortem: boolean): Promise<CaptureResult> {
    const files = this.#files;
    const fd = files.fd;
    return this.#captures.exclusive(async () => {
      const current = files.fd === fd;
      const before = current ? files.watch?.writeOffset() ?? null : null;
      const result = await this.#captures.captureNow(fd, reason, postMortem);
      // Interval captures skip the file until its write offset moves on from here.
      if (current && files.fd === fd) files.capturedWriteOffset = before;
      return result;
    });
  }

  /** The last capture before the host ends; false when the child's last memory is not durable (see finalCapture). */
  #finalCapture(reason: Reason): Promise<boolean> {
    const writeOffset = (): bigint | null => this.#files.watch?.writeOffset() ?? null;
    return finalCapture({ store: this.#store, log: this.#log, capture: () => this.#postMortem(reason), writeOffset }, this.options.stopTimeoutMs);
  }

  /** The capture after the child's group is gone: exact, nothing writes any more. */
  #postMortem(reason: Reason): Promise<CaptureOutcome> {
    const fd = this.#files.fd;
    return this.#captures.exclusive(() => this.#captures.finalCaptureNow(fd, reason));
  }
}

/** Runs a supervisor to the end; see Supervisor. Throws a TypeError or RangeError for bad options. */
export function supervise(options: SupervisorOptions): Promise<number> {
  return new Supervisor(options).run();
}
