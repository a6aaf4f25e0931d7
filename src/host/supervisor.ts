// The supervisor's loop: start the child on the shared file, wait for its exit, capture, decide whether to restart, until it is
// stopped or gives up. The file hand-off, the interval schedule, the signals, the restart policy and the replica: files of their own.
import { constants } from 'node:os';
import { ShmHostError } from '../errors.js';
import { setChildSubreaper } from '../sys/index.js';
import type { Reason, SnapshotStore } from '../store/index.js';
import type { CaptureResult } from '../live/index.js';
import type { CaptureQueue, CaptureOutcome } from './capture-queue.js';
import {
  describeExit, exitStatus, failedStart, logChildExit, theChildEnded, requireTrampoline, resolveCommand, startChild, type ChildExit, type StartedChild,
} from './child-process.js';
import { openControlChannel } from './control-channel.js';
import type { ControlServer } from './control/index.js';
import { SharedFiles } from './file-handoff.js';
import { EXIT_STATE_LOST, finalCapture } from './final-capture.js';
import { HostState } from './host-state.js';
import { IntervalSchedule } from './interval.js';
import type { Logger } from './logger.js';
import { validateSupervisorOptions, type SupervisorOptions } from './options.js';
import { openHostStore, type HostStore } from './open-store.js';
import { ServiceManagerLink, hostStatus, withoutNotifyVariables } from './notify/index.js';
import { GroupStop } from './group-stop.js';
import { killGroupAndWait } from './process-group.js';
import { reapOrphansOnSigchld } from './reaper.js';
import { endStaleWritersAtEnd, endStaleWritersAtStart, sharedFileName } from './stale-writers.js';
import { RestartPolicy } from './restart-policy.js';
import { RestartTimeline, finishTimeline } from './restart-timeline.js';
import { delayAfterDeath, installSignalHandlers, type SignalHandlers } from './signals.js';
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
  readonly #stop: GroupStop;
  #wakeup = new Wakeup();
  #interval: IntervalSchedule;
  #signals: SignalHandlers | null = null;
  #stopReaping: () => void = () => {};
  #control: ControlServer | null | undefined;
  #replica: HostStore['replica'] = null;
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
    this.#stop = new GroupStop(options.stopTimeoutMs);
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
    // From here until READY=1 systemd's start timeout is extended: a download from the replica or a large restore may outlast it.
    this.#link.start();
    ({ replica: this.#replica, store: this.#store, captures: this.#captures } = await openHostStore(options, this.#log, this.state).catch((err: unknown) => {
      this.#link.close();
      throw err;
    }));
    const name = sharedFileName(options.dir);
    this.#files = new SharedFiles(this.#store, this.#captures, this.#log, { ...options, name, onFileChanged: (fd) => this.#link.fileChanged(fd) });
    this.state.header = () => this.#files.watch?.durable() ?? null;
    try {
      this.#replica?.attach(this.#captures, () => this.#files.fd, this.state);
      this.#stopReaping = reapOrphansOnSigchld();
      this.#signals = installSignalHandlers((signal) => this.#onStopSignal(signal), () => void this.requestCapture().catch(() => {}));
      await endStaleWritersAtStart(name, this.#log, this.#store);
      await this.#files.prepareFirst(this.#env);
      return await this.#loop();
    } finally {
      this.#signals?.remove();
      this.#stopReaping();
      this.#interval.stop();
      // No new capture can be asked for now; the queued ones (a background post-mortem capture) end before the file and store close.
      await this.#control?.close();
      this.#files.startBackground();
      // The replica: up to --stop-timeout; systemd's stop timeout is extended meanwhile.
      await this.#link.whileWorking(() => this.#captures.drained().then(() => this.#replica?.close(options.stopTimeoutMs)));
      this.#files.close();
      await endStaleWritersAtEnd(name, this.#log, this.#store);
      await this.#store.close();
      this.#link.close();
    }
  }

  /** Asks the host to stop as if it received `signal`. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void { this.#onStopSignal(signal); }

  /** A capture now (SIGUSR1, or the live channel); resolves once it is durable. ShmHostError NOT_READY before there is a shared file. */
  requestCapture(): Promise<CaptureResult> {
    if (this.#files === undefined || this.#files.fd < 0) return Promise.reject(new ShmHostError('NOT_READY', 'no shared file yet: the host is still restoring it', { hint: 'ask again once the child has started' }));
    return this.#capture('request', false);
  }

  /** Child after child, until a stop signal or the restart policy ends it; resolves to the exit status. */
  async #loop(): Promise<number> {
    const policy = new RestartPolicy(this.options.restart, this.options.optionName);
    for (;;) {
      if (this.#stop.signal !== null) {
        this.#log.log('info', 'stopped', `stopped by ${this.#stop.signal} before the child started`);
        return 128 + (constants.signals[this.#stop.signal] ?? 0);
      }
      const exit = await this.#runChildOnce();
      const status = exitStatus(exit, constants.signals);
      if (this.#stop.signal !== null) return this.#stopped(status, `stopped by ${this.#stop.signal}; ${theChildEnded(exit)}`);
      const decision = policy.decide(exit, performance.now());
      if (!decision.restart) {
        this.#link.stopping(`not restarting: ${describeExit(exit)}`);
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
      this.#timeline?.mark();
      const delayMs = delayAfterDeath(exit, decision.delayMs);
      this.#log.log('info', 'restart', `restarting the child (restart ${decision.count}) in ${delayMs} ms${delayMs > decision.delayMs ? ` (${theChildEnded(exit)}: if the whole service is being stopped, the host's own stop signal comes first)` : ''}`, {
        restart: decision.count, delayMs,
      });
      // The carried memory may not be on disk yet (its capture runs in the background, and may fail).
      if (await this.#wakeup.sleep(delayMs)) return this.#stopped(status, `stopped by ${this.#stop.signal} while waiting to restart`);
      this.#timeline?.mark();
    }
  }

  async #runChildOnce(): Promise<ChildExit> {
    const { command, args } = this.options;
    this.#stop.childStarted();
    const child = await startChild(command, args, this.#files.fd, withoutNotifyVariables(this.#env));
    this.#files.startBackground();
    // Nothing ran, so nothing wrote the file: a failed start, for the restart policy to judge.
    if ('errno' in child) return this.#openControl().then(() => failedStart(this.#log, child));
    this.#child = child;
    // After a restart's child is spawned: the restart's phases, logged and kept for `status`.
    if (this.#timeline !== null) this.state.lastRestart = finishTimeline(this.#timeline, this.state.restarts, this.#log);
    this.#timeline = null;
    this.state.childStarted(child.pid, Date.now());
    this.#log.log('info', 'started', `started child ${child.pid}: ${[command, ...args].join(' ')}`, { pid: child.pid });
    await this.#openControl();
    // READY=1 the first time (the child runs on the restored or handed-back file), STATUS= after.
    this.#link.childRunning(hostStatus(this.state));
    // A stop signal that came while the child was being started is forwarded now.
    if (this.#stop.signal !== null) this.#onStopSignal(this.#stop.signal);
    this.#interval.start();
    const ended = await child.exited;
    this.#timeline = new RestartTimeline();
    this.#child = null;
    this.#interval.stop();
    // On a stop, the rest of the group has until --stop-timeout to run its shutdown handlers too.
    const exit: ChildExit = { ...ended, forced: await this.#stop.leaderExited(child.pid) };
    this.state.childExited(exit);
    const lingering = await killGroupAndWait(child.pid);
    this.#timeline.mark();
    this.#files.lingering = lingering.length > 0;
    if (lingering.length > 0) {
      this.#log.log('warn', 'lingering', `processes ${lingering.join(', ')} of the child's group would not die; continuing with a new shared file`);
    }
    logChildExit(this.#log, exit, this.#stop.signal !== null, this.options.optionName);
    return exit;
  }

  /** The live channel (null: off or failed), opened once the first child is spawned (its start need not wait for it), before READY=1. */
  async #openControl(): Promise<void> {
    if (this.#control === undefined) this.#control = await openControlChannel(this.options, this.#log, this.state, () => this.requestCapture());
  }

  #onStopSignal(signal: NodeJS.Signals): void {
    if (this.#stop.request(signal, this.#child?.pid ?? null)) {
      this.#log.log('info', 'stopping', `received ${signal}: stopping the child's process group (SIGKILL after ${this.options.stopTimeoutMs} ms)`);
      this.#link.stopping(`stopping on ${signal}: final capture of the child's memory`);
    }
    if (this.#child) this.state.phase = 'stopping';
    this.#wakeup.wake();
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

  /** After a stop signal: the final capture, then `line`; resolves to `status`, or EXIT_STATE_LOST when the memory is not durable. */
  async #stopped(status: number, line: string): Promise<number> {
    const durable = await this.#finalCapture('shutdown');
    this.#log.log('info', 'stopped', line, { status });
    return durable ? status : EXIT_STATE_LOST;
  }

  /** The last capture before the host ends; false when the child's last memory is not durable (see finalCapture). */
  #finalCapture(reason: Reason): Promise<boolean> {
    const writeOffset = (): bigint | null => this.#files.watch?.writeOffset() ?? null;
    // A large state takes long to save: systemd's stop timeout is extended meanwhile (--stop-timeout bounds the retries).
    return this.#link.whileWorking(() => finalCapture({ store: this.#store, log: this.#log, capture: () => this.#postMortem(reason), writeOffset }, this.options.stopTimeoutMs));
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
