// The host's side of the systemd notification protocol (sd_notify(3),
// systemd.service(5) Type=notify, WatchdogSec=, FileDescriptorStoreMax=).
import { closeSync } from 'node:fs';
import { openDatagramSocket, sendDatagram } from '../../sys/index.js';
import { readNotifyEnvironment, type NotifyEnvironment } from './environment.js';
import * as message from './messages.js';

/** What became of one notification, as data: the host never fails because of it. */
export type NotifyResult =
  | { readonly sent: true }
  | { readonly sent: false; readonly reason: 'disabled' }
  | { readonly sent: false; readonly reason: 'failed'; readonly error: string };

/** A notification that could not be sent, for the host's log. */
export interface NotifyFailure {
  /** The first line of the message that failed (`READY=1`, `FDSTORE=1`...). */
  readonly what: string;
  /** The socket it was meant for. */
  readonly socket: string;
  /** One line: the errno name and what it means for the unit. */
  readonly message: string;
}

export interface NotifierOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The process the watchdog must belong to (WATCHDOG_PID); default this process. */
  readonly pid?: number;
  /**
   * Called with the first failure after a success (or since the start), so
   * a socket that stays broken is logged once, and again only once it
   * recovered and broke anew.
   */
  readonly onFailure?: (failure: NotifyFailure) => void;
}

const sent: NotifyResult = { sent: true };
const disabled: NotifyResult = { sent: false, reason: 'disabled' };

/**
 * Talks to the service manager on NOTIFY_SOCKET; with none set, every call is
 * a no-op returning `{ sent: false, reason: 'disabled' }`. Never throws: a
 * send that fails is returned (and reported through `onFailure`). Sends
 * never block (a full queue is EAGAIN). MAINPID is never sent: the host is
 * and stays the unit's main process.
 */
export class Notifier {
  readonly environment: NotifyEnvironment;
  readonly #onFailure: (failure: NotifyFailure) => void;
  #fd = -1;
  #failing = false;
  #watchdog: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: NotifierOptions = {}) {
    this.environment = readNotifyEnvironment(options.env ?? process.env, options.pid ?? process.pid);
    this.#onFailure = options.onFailure ?? (() => {});
  }

  /** True when NOTIFY_SOCKET names a socket to talk to. */
  get enabled(): boolean {
    return this.environment.socket !== null && !this.#closed;
  }

  /** READY=1 (and a STATUS= line): the child runs on its file; Type=notify units become active. */
  ready(statusText?: string): NotifyResult {
    return this.#send(statusText === undefined ? message.READY : `${message.READY}\n${message.status(statusText)}`);
  }

  /** STATUS=: one short line for `systemctl status` (newlines flattened, cut at 200 characters). */
  status(text: string): NotifyResult {
    return this.#send(message.status(text));
  }

  /** STOPPING=1: the host is shutting down (the unit shows "deactivating"). */
  stopping(statusText?: string): NotifyResult {
    return this.#send(statusText === undefined ? message.STOPPING : `${message.STOPPING}\n${message.status(statusText)}`);
  }

  /**
   * EXTEND_TIMEOUT_USEC=: asks for `ms` more before systemd gives up on the
   * current start or stop (TimeoutStartSec=/TimeoutStopSec=), e.g. while a
   * large generation is restored; repeat it before it runs out.
   */
  extendTimeout(ms: number): NotifyResult {
    return this.#send(message.extendTimeout(ms));
  }

  /** WATCHDOG=1: one keep-alive, sent whether or not the watchdog is on (systemd ignores it then). */
  watchdog(): NotifyResult {
    return this.#send(message.WATCHDOG);
  }

  /**
   * Sends WATCHDOG=1 every half WATCHDOG_USEC from now on, when the watchdog
   * is on and meant for this process; the timer never keeps the host alive.
   * Returns the period in ms, or null when there is no watchdog to feed.
   */
  startWatchdog(): number | null {
    const every = this.environment.watchdogIntervalMs;
    if (every === null || !this.enabled) return null;
    if (this.#watchdog !== null) return every;
    this.#watchdog = setInterval(() => this.watchdog(), every);
    this.#watchdog.unref();
    return every;
  }

  stopWatchdog(): void {
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    this.#watchdog = null;
  }

  /**
   * FDSTORE=1 with FDNAME=SHM_SHARED_FD and `fd` attached: the service manager
   * keeps a duplicate of the shared file and hands it to the next host it
   * starts (LISTEN_FDS/LISTEN_FDNAMES). With `replace` (the default), a
   * FDSTOREREMOVE=1 datagram goes first, so the store holds exactly one
   * file, the live one: with FileDescriptorStoreMax=1 systemd would refuse
   * the new file and keep the old. The two datagrams leave in one tick; a
   * host killed between them leaves the store empty (the next host then
   * restores the newest durable generation), never holding a stale file.
   * Needs FileDescriptorStoreMax=1 (or more) in the unit, or systemd closes it.
   */
  storeSharedFile(fd: number, options: { replace?: boolean } = {}): NotifyResult {
    if (options.replace ?? true) {
      const removed = this.removeSharedFile();
      if (!removed.sent) return removed;
    }
    return this.#send(message.fdStore(), [fd]);
  }

  /** FDSTOREREMOVE=1 with FDNAME=SHM_SHARED_FD: the store forgets the shared file. */
  removeSharedFile(): NotifyResult {
    return this.#send(message.fdStoreRemove());
  }

  /** Stops the watchdog and closes the socket; later calls are no-ops. */
  close(): void {
    this.stopWatchdog();
    this.#closed = true;
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }

  #send(text: string, fds: readonly number[] = []): NotifyResult {
    const socket = this.environment.socket;
    if (socket === null || this.#closed) return disabled;
    try {
      if (this.#fd < 0) this.#fd = openDatagramSocket();
      sendDatagram(this.#fd, socket, text, fds);
      this.#failing = false;
      return sent;
    } catch (err) {
      const error = describeFailure(err);
      if (!this.#failing) {
        this.#failing = true;
        this.#onFailure({ what: text.split('\n', 1)[0]!, socket, message: error });
      }
      return { sent: false, reason: 'failed', error };
    }
  }
}

function describeFailure(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return `${text}: nothing listens on the notification socket (was the service manager restarted?)`;
  if (code === 'EAGAIN') return `${text}: the service manager's queue is full; the message was dropped`;
  if (code === 'EBADF') return `${text}: the descriptor to store is not open`;
  return text;
}
