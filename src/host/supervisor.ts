// The supervisor's loop: start the child on the shared file, wait for its
// exit, capture, decide whether to restart, until it is stopped or gives
// up. The file hand-off, the interval schedule, the signals and the
// restart policy and the replica each live in a file of their own.
import { constants } from 'node:os';
import { setChildSubreaper } from '../sys/index.js';
import { SnapshotStore, type Reason } from '../store/index.js';
import type { CaptureResult } from '../live/index.js';
import { CaptureQueue, type CaptureOutcome } from './capture-queue.js';
import { describeExit, exitStatus, requireTrampoline, resolveCommand, startChild, type ChildExit, type StartedChild } from './child-process.js';
import { startControlServer, type ControlServer } from './control/index.js';
import { SharedFiles } from './file-handoff.js';
import { HostState } from './host-state.js';
import { IntervalSchedule } from './interval.js';
import type { Logger } from './logger.js';
import { validateSupervisorOptions, type SupervisorOptions } from './options.js';
import { ServiceManagerLink, hostStatus, withoutNotifyVariables } from './notify/index.js';
import { killGroupAndWait } from './process-group.js';
import { ReplicaLink } from './replica-link.js';
import { RestartPolicy } from './restart-policy.js';
import { RestartTimeline, describeTimeline } from './restart-timeline.js';
import { delayAfterDeath, forwardStop, installSignalHandlers, type SignalHandlers } from './signals.js';
import { Wakeup } from './wakeup.js';

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
  #wakeup = new Wakeup();
  #interval: IntervalSchedule;
  #signals: SignalHandlers | null = null;
  #control: ControlServer | null = null;
  #replica: ReplicaLink | null = null;
  readonly #link: ServiceManagerLink;
  /** The restart in progress, from the death seen to the next child spawned. */
  #timeline: RestartTimeline | null = null;

  /** Throws a TypeError or RangeError for options that are wrong (see validateSupervisorOptions). */
  constructor(options: SupervisorOptions) {
    validateSupervisorOptions(options);
    this.options = options;
    this.#log = options.logger;
    this.#env = options.env ?? process.env;
    this.state = new HostState(options.command, options.args);
    this.#link = new ServiceManagerLink({ logger: this.#log, env: this.#env });
    this.state.onChange = () => this.#link.status(hostStatus(this.state));
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
    this.#replica = await ReplicaLink.open(options.replica, options.dir, this.#log);
    this.#store = await SnapshotStore.open(options.dir, { keep: options.keep, spare: () => this.#replica?.needed() ?? new Set() });
    this.#captures = new CaptureQueue(this.#store, this.#log, this.state);
    this.#files = new SharedFiles(this.#store, this.#captures, this.#log, { ...options, onFileChanged: (fd) => this.#link.fileChanged(fd) });
    try {
      this.#replica?.attach(this.#captures, () => this.#files.fd, this.state);
      this.#link.start();
      this.#signals = installSignalHandlers((signal) => this.#onStopSignal(signal), () => void this.requestCapture().catch(() => {}));
      await this.#files.prepareFirst(this.#env);
      if (options.controlChannel !== false) await this.#startControlChannel();
      return await this.#loop();
    } finally {
      this.#signals?.remove();
      this.#interval.stop();
      // No new capture can be asked for now; the queued ones (a post-mortem
      // capture in the background) end before the file and store close.
      await this.#control?.close();
      this.#files.startBackground();
      await this.#captures.drained();
      await this.#replica?.close(options.stopTimeoutMs);
      this.#files.close();
      await this.#store.close();
      this.#link.close();
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
        await this.#postMortem('shutdown');
        this.#log.log('info', 'stopped', `stopped by ${this.#stopSignal}; the child ${describeExit(exit)}`, { status });
        return status;
      }
      const decision = policy.decide(exit, Date.now());
      if (!decision.restart) {
        this.#link.stopping(`not restarting: ${describeExit(exit)}`);
        await this.#postMortem('post-mortem');
        const level = decision.why === 'too-many' ? 'error' : 'info';
        this.#log.log(level, 'not-restarting', decision.message, { status });
        return decision.why === 'too-many' && status === 0 ? 1 : status;
      }
      this.state.restarts = decision.count;
      this.state.phase = 'restarting';
      await this.#files.prepareNext(() => this.#postMortem('post-mortem'));
      this.#timeline?.mark();
      const delayMs = delayAfterDeath(exit, decision.delayMs);
      this.#log.log('info', 'restart', `restarting the child (restart ${decision.count}) in ${delayMs} ms${delayMs > decision.delayMs ? ` (the child ${describeExit(exit)}: if the whole service is being stopped, the host's own stop signal comes first)` : ''}`, {
        restart: decision.count, delayMs,
      });
      if (await this.#wakeup.sleep(delayMs)) {
        this.#log.log('info', 'stopped', `stopped by ${this.#stopSignal} while waiting to restart`, { status });
        return status;
      }
      this.#timeline?.mark();
    }
  }

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
    const child = startChild(command, args, this.#files.fd, withoutNotifyVariables(this.#env));
    this.#child = child;
    this.#files.startBackground();
    this.#logTimeline();
    this.state.childStarted(child.pid, child.startedAt);
    this.#log.log('info', 'started', `started child ${child.pid}: ${[command, ...args].join(' ')}`, { pid: child.pid });
    // READY=1 the first time (the child runs on the restored or handed-back file), STATUS= after.
    this.#link.childRunning(hostStatus(this.state));
    this.#interval.start();
    const ended = await child.exited;
    this.#timeline = new RestartTimeline();
    this.#child = null;
    this.#interval.stop();
    const exit: ChildExit = { ...ended, forced: this.#forced };
    this.state.childExited(exit);
    const lingering = await killGroupAndWait(child.pid);
    this.#timeline.mark();
    this.#files.lingering = lingering.length > 0;
    if (lingering.length > 0) {
      this.#log.log('warn', 'lingering', `processes ${lingering.join(', ')} of the child's group would not die; continuing with a new shared file`);
    }
    this.#log.log(exit.signal === null && exit.code === 0 ? 'info' : 'warn', 'exit',
      `child ${exit.pid} ${describeExit(exit)}${exit.forced ? ' (forced after --stop-timeout)' : ''} after ${(exit.ranMs / 1000).toFixed(1)}s`,
      { pid: exit.pid, code: exit.code, signal: exit.signal, forced: exit.forced, ranMs: exit.ranMs });
    return exit;
  }

  /** After a restart's child is spawned: the restart's phases, logged and kept for `status`. */
  #logTimeline(): void {
    if (this.#timeline === null) return;
    const record = this.#timeline.finish(this.state.restarts);
    this.#timeline = null;
    this.state.lastRestart = record;
    this.#log.log('info', 'restart-timeline', `restart ${record.restart}: ${describeTimeline(record)}`, { ...record });
  }

  #onStopSignal(signal: NodeJS.Signals): void {
    const first = this.#stopSignal === null;
    this.#stopSignal ??= signal;
    if (first) {
      this.#log.log('info', 'stopping', `received ${signal}: stopping the child (SIGKILL after ${this.options.stopTimeoutMs} ms)`);
      this.#link.stopping(`stopping on ${signal}: final capture of the child's memory`);
    }
    if (this.#child) this.state.phase = 'stopping';
    this.#wakeup.wake();
    const child = this.#child;
    if (child) {
      forwardStop(child.pid, signal, this.options.stopTimeoutMs, child.exited, () => this.#child === child, () => {
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
