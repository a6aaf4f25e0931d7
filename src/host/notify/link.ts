// What the supervisor tells its service manager, at the points where it acts:
// the child runs, its memory file changes, the state changes, shutdown. One
// object, so the supervisor calls a method per event and never handles a
// socket, a timer or a failed send itself.
import type { Logger } from '../logger.js';
import { Notifier } from './notifier.js';

export interface ServiceManagerLinkOptions {
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly pid?: number;
  /** Fewest ms between two STATUS= messages (default 1000): interval captures may be far more frequent. */
  readonly statusIntervalMs?: number;
  /**
   * While the host starts (until READY=1) and while it does its last work at
   * a stop, EXTEND_TIMEOUT_USEC= goes out at once and then every this many ms
   * (default 5000), each asking for three times as much.
   */
  readonly extendEveryMs?: number;
}

/**
 * The host's link to systemd (a no-op without NOTIFY_SOCKET). Logs the
 * environment's problems once at `start`, and a failed send once per
 * outage (event `notify-failed`); never throws.
 */
export class ServiceManagerLink {
  readonly notifier: Notifier;
  readonly #log: Logger;
  readonly #statusIntervalMs: number;
  #ready = false;
  #stopped = false;
  #lastStatusAt = -Infinity;
  #lastStatus: string | null = null;
  #pendingStatus: string | null = null;
  #statusTimer: NodeJS.Timeout | null = null;
  readonly #extendEveryMs: number;
  /** The start's extensions, from start() until READY=1 (or a stop, or close). */
  #starting: (() => void) | null = null;

  constructor(options: ServiceManagerLinkOptions) {
    this.#log = options.logger;
    this.#statusIntervalMs = options.statusIntervalMs ?? 1000;
    this.#extendEveryMs = options.extendEveryMs ?? 5000;
    this.notifier = new Notifier({
      env: options.env, pid: options.pid,
      onFailure: (f) => this.#log.log('warn', 'notify-failed', `could not tell the service manager ${f.what} on ${f.socket}: ${f.message}`, { what: f.what, socket: f.socket }),
    });
  }

  get enabled(): boolean {
    return this.notifier.enabled;
  }

  /**
   * At host start: reports unusable NOTIFY_SOCKET/WATCHDOG_USEC values,
   * starts feeding the watchdog, and keeps extending the start timeout
   * (TimeoutStartSec=) until READY=1: restoring a large generation, or
   * proving and storing a handed-back file, may take longer than it.
   */
  start(): void {
    for (const problem of this.notifier.environment.problems) this.#log.log('warn', 'notify-environment', problem);
    this.notifier.startWatchdog();
    this.#starting ??= this.#extending();
  }

  /** Asks systemd for `ms` more before the timeout of the current start or stop (EXTEND_TIMEOUT_USEC=). */
  needMoreTime(ms: number): void {
    this.notifier.extendTimeout(ms);
  }

  /**
   * Runs `work` (the final capture at a stop, the last captures and uploads)
   * while asking systemd for more time, so that TimeoutStopSec= does not
   * SIGKILL the host in the middle of saving a large state; the host's own
   * --stop-timeout bounds that work instead. Resolves or rejects as `work`.
   */
  async whileWorking<T>(work: () => Promise<T>): Promise<T> {
    const done = this.#extending();
    try {
      return await work();
    } finally {
      done();
    }
  }

  /**
   * EXTEND_TIMEOUT_USEC= now and every extendEveryMs until the returned
   * function is called. systemd then allows, past the unit's own timeout,
   * up to three periods between two messages (sd_notify(3),
   * systemd.service(5)); an earlier message never shortens a timeout.
   */
  #extending(): () => void {
    if (!this.enabled) return () => {};
    const every = this.#extendEveryMs;
    this.needMoreTime(3 * every);
    const timer = setInterval(() => this.needMoreTime(3 * every), every);
    timer.unref();
    return () => clearInterval(timer);
  }

  #started(): void {
    this.#starting?.();
    this.#starting = null;
  }

  /**
   * The child runs on the file it was given. The first call sends READY=1
   * (a Type=notify unit becomes active); each sends `status` as STATUS=.
   */
  childRunning(status: string): void {
    if (this.#stopped) return;
    if (!this.#ready) {
      this.#ready = true;
      this.#started();
      this.#clearPendingStatus();
      this.#lastStatusAt = Date.now();
      this.#lastStatus = status;
      this.notifier.ready(status);
      return;
    }
    this.status(status);
  }

  /**
   * The child has a new memory file: the store is made to hold exactly it
   * (FDSTOREREMOVE=1, then FDSTORE=1 with FDNAME=SHM_SHARED_FD).
   */
  fileChanged(fd: number): void {
    this.notifier.storeSharedFile(fd);
  }

  /**
   * STATUS=: sent now unless one went out less than statusIntervalMs ago;
   * then the newest text is sent once that interval has passed. The same
   * text twice in a row is sent once.
   */
  status(text: string): void {
    if (this.#stopped) return;
    if (text === this.#lastStatus && this.#pendingStatus === null) return;
    const wait = this.#lastStatusAt + this.#statusIntervalMs - Date.now();
    if (wait <= 0) {
      this.#sendStatus(text);
      return;
    }
    this.#pendingStatus = text;
    if (this.#statusTimer === null) {
      this.#statusTimer = setTimeout(() => {
        this.#statusTimer = null;
        const pending = this.#pendingStatus;
        this.#pendingStatus = null;
        if (pending !== null && pending !== this.#lastStatus) this.#sendStatus(pending);
      }, wait);
      this.#statusTimer.unref();
    }
  }

  /** Shutdown begins: STOPPING=1 with a last status line; no more statuses are sent. */
  stopping(status: string): void {
    this.#stopped = true;
    this.#started();
    this.#clearPendingStatus();
    this.notifier.stopping(status);
  }

  /** Stops the watchdog and any pending status, closes the socket. */
  close(): void {
    this.#started();
    this.#clearPendingStatus();
    this.notifier.close();
  }

  #sendStatus(text: string): void {
    this.#lastStatusAt = Date.now();
    this.#lastStatus = text;
    this.notifier.status(text);
  }

  #clearPendingStatus(): void {
    if (this.#statusTimer !== null) clearTimeout(this.#statusTimer);
    this.#statusTimer = null;
    this.#pendingStatus = null;
  }
}
