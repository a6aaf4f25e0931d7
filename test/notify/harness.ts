// A test double of the service manager's side of sd_notify: a bound unix
// datagram socket that collects every message and descriptor sent to it.
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindDatagram, openDatagramSocket, receiveDatagram } from '../../src/sys/index.js';
import { until } from '../host/harness.js';

export interface Notification {
  /** VARIABLE=VALUE assignments of the datagram, in order. */
  readonly lines: string[];
  readonly fds: number[];
}

/** A fresh abstract socket name, unique to this test process. */
export const abstractAddress = (): string => `@shm-host-test/notify/${process.pid}/${Math.random().toString(36).slice(2)}`;

export class FakeServiceManager {
  /** The NOTIFY_SOCKET value that reaches it: `/path` or `@name`. */
  readonly address: string;
  readonly received: Notification[] = [];
  readonly #fd: number;
  readonly #dir: string | null;
  #read = 0;

  /** Binds a new socket of `kind`, or at `address` when given (its directory is then the caller's). */
  constructor(kind: 'path' | 'abstract', address?: string) {
    this.#dir = kind === 'path' && address === undefined ? mkdtempSync(join(tmpdir(), 'shm-notify-')) : null;
    this.address = address ?? (this.#dir !== null ? join(this.#dir, 'notify') : abstractAddress());
    this.#fd = openDatagramSocket();
    bindDatagram(this.#fd, this.address);
  }

  /** Moves every queued datagram into `received`. */
  drain(): void {
    for (;;) {
      const got = receiveDatagram(this.#fd);
      if (got === null) return;
      this.received.push({ lines: got.data.toString('utf8').split('\n'), fds: got.fds });
    }
  }

  /** The next message not yet returned, waiting for it up to `timeoutMs`. */
  next(timeoutMs = 5000): Promise<Notification> {
    return until('a notification', () => {
      this.drain();
      return this.#read < this.received.length ? this.received[this.#read++]! : undefined;
    }, timeoutMs);
  }

  /** Closes every received descriptor and the socket, and removes a path socket's directory. */
  close(): void {
    this.drain();
    for (const m of this.received) for (const fd of m.fds) closeSync(fd);
    closeSync(this.#fd);
    if (this.#dir !== null) rmSync(this.#dir, { recursive: true, force: true });
  }
}
