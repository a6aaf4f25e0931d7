// One client of the live channel: its request lines answered one at a
// time, in order; an oversized line refused and the connection dropped.
import type net from 'node:net';
import {
  MAX_REQUEST_BYTES, PROTOCOL_VERSION, decodeRequest, encodeLine, type ControlRequest,
} from './protocol.js';
import type { ControlHandlers } from './server.js';

/** Stands in the line queue for a request that was too long to keep. */
const TOO_LARGE = Symbol('too large');

/** One client: reads lines, answers them one at a time, in order. */
export class Connection {
  readonly #socket: net.Socket;
  readonly #handlers: ControlHandlers;
  readonly #idleTimeoutMs: number;
  readonly #onError: (err: unknown) => void;
  #pending = '';
  #lines: Array<string | typeof TOO_LARGE> = [];
  #busy = false;
  #ended = false;
  #hangingUp = false;

  constructor(socket: net.Socket, handlers: ControlHandlers, idleTimeoutMs: number, onError: (err: unknown) => void) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#onError = onError;
  }

  start(): void {
    const socket = this.#socket;
    socket.setEncoding('utf8');
    socket.setTimeout(this.#idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: string) => this.#receive(chunk));
    socket.on('end', () => {
      this.#ended = true;
      if (this.#hangingUp) return;
      // A last request without its newline still counts.
      if (this.#pending.trim() !== '') this.#lines.push(this.#pending);
      this.#pending = '';
      void this.#drain();
    });
  }

  #receive(chunk: string): void {
    if (this.#hangingUp) return;
    const parts = (this.#pending + chunk).split('\n');
    this.#pending = parts.pop() ?? '';
    for (const line of parts) this.#lines.push(line);
    if (Buffer.byteLength(this.#pending) > MAX_REQUEST_BYTES) {
      // Answer what came before, then refuse the oversized line and hang up.
      this.#pending = '';
      this.#lines.push(TOO_LARGE);
      this.#hangingUp = true;
    }
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    // No idle timeout while the host works on a request (a capture may take long).
    this.#socket.setTimeout(0);
    this.#socket.pause();
    try {
      while (this.#lines.length > 0 && !this.#socket.destroyed) {
        const line = this.#lines.shift()!;
        if (line === TOO_LARGE) {
          const message = `the request is longer than ${MAX_REQUEST_BYTES} bytes: requests are one short JSON object per line`;
          // Whatever else the peer sends is dropped: hang up once the refusal is out.
          this.#socket.end(encodeLine({ id: null, ok: false, error: { code: 'TOO_LARGE', message } }), () => this.#socket.destroy());
          this.#lines = [];
          return;
        }
        const text = line.endsWith('\r') ? line.slice(0, -1) : line;
        if (text.trim() === '') continue;
        const reply = await this.#answer(text);
        if (this.#socket.destroyed) return;
        if (!this.#socket.write(reply)) await this.#writable();
      }
      if (this.#ended) this.#socket.end();
    } catch (err) {
      // Nothing a peer does may throw into the host: drop this connection, report why.
      this.#socket.destroy();
      this.#onError(err);
    } finally {
      this.#busy = false;
      if (!this.#socket.destroyed && !this.#hangingUp) {
        this.#socket.setTimeout(this.#idleTimeoutMs);
        this.#socket.resume();
      }
    }
  }

  /** Resolves once the socket drained its write buffer (or closed). */
  #writable(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.#socket.off('drain', done).off('close', done);
        resolve();
      };
      this.#socket.on('drain', done).on('close', done);
    });
  }

  /** The reply line to `line`; a handler's failure, or a result that cannot be sent, becomes an error reply. */
  async #answer(line: string): Promise<string> {
    const decoded = decodeRequest(line);
    if (!decoded.ok) return encodeLine(decoded.reply);
    const request = decoded.request;
    try {
      return encodeLine({ id: request.id, ok: true, result: await this.#perform(request) });
    } catch (err) {
      return encodeLine({ id: request.id, ok: false, error: { code: 'FAILED', message: oneLine(err) } });
    }
  }

  async #perform(request: ControlRequest): Promise<unknown> {
    switch (request.op) {
      case 'status':
        return { protocol: PROTOCOL_VERSION, ...this.#handlers.status() };
      case 'snapshot': {
        const capture = this.#handlers.snapshot();
        if (request.wait) return await capture;
        capture.catch((err: unknown) => this.#onError(err));
        return { accepted: true };
      }
    }
  }
}

const oneLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
