// The host's end of the live channel: a unix socket in the snapshot
// directory answering newline-delimited JSON requests. Whatever a peer
// sends, the host answers it or drops the connection; it never throws into
// the supervisor.
import fs from 'node:fs';
import net from 'node:net';
import { ControlError } from './errors.js';
import {
  MAX_REQUEST_BYTES, PROTOCOL_VERSION, decodeRequest, encodeLine, type ControlRequest, type HostStatus, type SnapshotResult,
} from './protocol.js';
import { socketAddress, socketPath } from './socket-path.js';

/** What the supervisor answers with. */
export interface ControlHandlers {
  /** The host's state now (called once per status request). */
  status(): HostStatus;
  /**
   * Takes a capture now and resolves once it is durable. Concurrent requests
   * may share one capture; a failure rejects with a one-line message.
   */
  snapshot(): Promise<SnapshotResult>;
}

export interface ControlServerOptions {
  /** Connections served at once; more are answered BUSY and closed (default 16). */
  readonly maxConnections?: number;
  /** A connection with no request in progress is closed after this long without a byte (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** Told about failures nobody waits for (a capture requested without wait that failed). */
  readonly onError?: (err: unknown) => void;
}

/** A listening channel; close() stops it and removes its socket. */
export interface ControlServer {
  /** Absolute path of the socket. */
  readonly path: string;
  close(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 1000;

/**
 * Starts the live channel of the host that holds the lock of `dir`. A
 * socket left by a dead host is replaced; a live one is never taken over
 * (ControlError SOCKET_IN_USE), nor is a file that is not a socket removed.
 */
export async function startControlServer(dir: string, handlers: ControlHandlers, options: ControlServerOptions = {}): Promise<ControlServer> {
  const path = socketPath(dir);
  await removeStaleSocket(dir, path);
  const server = net.createServer({ allowHalfOpen: true });
  await listen(server, dir, path);
  let inode: number;
  try {
    // Only the owner may talk to the host (the directory is 0700 as well).
    fs.chmodSync(path, 0o600);
    inode = fs.statSync(path).ino;
  } catch (err) {
    server.close();
    throw new ControlError('LISTEN_FAILED', `cannot secure the control socket ${path}: ${(err as Error).message}`, { path, hint: 'check the snapshot directory', cause: err });
  }
  return new ListeningServer(server, path, inode, handlers, options);
}

/** Removes `path` when it is a socket nobody listens on; throws when a live host owns it or it is something else. */
async function removeStaleSocket(dir: string, path: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ControlError('LISTEN_FAILED', `cannot inspect ${path}: ${(err as Error).message}`, { path, hint: 'check the snapshot directory', cause: err });
  }
  if (!stat.isSocket()) {
    throw new ControlError('NOT_A_SOCKET', `${path} exists and is not a socket`, { path, hint: 'move that file out of the snapshot directory' });
  }
  if (await answers(dir)) {
    throw new ControlError('SOCKET_IN_USE', `another process is listening on ${path}`, { path, hint: 'stop the other shm-host or use another --dir' });
  }
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ControlError('LISTEN_FAILED', `cannot remove the stale socket ${path}: ${(err as Error).message}`, { path, hint: 'remove it by hand', cause: err });
    }
  }
}

/** True when something accepts connections on the socket of `dir`. */
function answers(dir: string): Promise<boolean> {
  const address = socketAddress(dir);
  return new Promise((resolve) => {
    const socket = net.connect({ path: address.address });
    const done = (alive: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      address.release();
      resolve(alive);
    };
    // A host too busy to accept within the probe time is still alive: only a refusal proves it dead.
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
  });
}

function listen(server: net.Server, dir: string, path: string): Promise<void> {
  const address = socketAddress(dir);
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      address.release();
      if (err.code === 'EADDRINUSE') {
        reject(new ControlError('SOCKET_IN_USE', `another process just bound ${path}`, { path, hint: 'stop the other shm-host or use another --dir', cause: err }));
      } else {
        reject(new ControlError('LISTEN_FAILED', `cannot listen on ${path}: ${err.code ?? err.message}`, { path, hint: 'check the snapshot directory', cause: err }));
      }
    };
    server.once('error', onError);
    server.listen({ path: address.address }, () => {
      server.off('error', onError);
      address.release();
      resolve();
    });
  });
}

class ListeningServer implements ControlServer {
  readonly path: string;
  readonly #server: net.Server;
  readonly #inode: number;
  readonly #handlers: ControlHandlers;
  readonly #maxConnections: number;
  readonly #idleTimeoutMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #connections = new Set<net.Socket>();
  readonly #removeOnExit = (): void => this.#unlinkOwnSocket();
  #closed: Promise<void> | null = null;

  constructor(server: net.Server, path: string, inode: number, handlers: ControlHandlers, options: ControlServerOptions) {
    this.#server = server;
    this.path = path;
    this.#inode = inode;
    this.#handlers = handlers;
    this.#maxConnections = options.maxConnections ?? 16;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.#onError = options.onError ?? (() => {});
    server.on('connection', (socket) => this.#accept(socket));
    // After listening, a server error (EMFILE on accept) must not crash the host.
    server.on('error', (err) => this.#onError(err));
    // A host that exits without close() (process.exit) still leaves no socket behind.
    process.on('exit', this.#removeOnExit);
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      process.off('exit', this.#removeOnExit);
      this.#unlinkOwnSocket();
      for (const socket of this.#connections) socket.destroy();
      this.#server.close(() => resolve());
    });
    return this.#closed;
  }

  /** Removes the socket file if it is still the one this server bound. */
  #unlinkOwnSocket(): void {
    try {
      if (fs.lstatSync(this.path).ino === this.#inode) fs.unlinkSync(this.path);
    } catch {
      // Already gone (or the directory is): nothing to remove.
    }
  }

  #accept(socket: net.Socket): void {
    // A peer that goes away mid-reply (EPIPE, ECONNRESET) is not the host's problem.
    socket.on('error', () => {});
    if (this.#closed !== null || this.#connections.size >= this.#maxConnections) {
      // Nothing reads this socket: once the refusal is out, drop it (a paused socket would never see the peer's end).
      socket.end(encodeLine({ id: null, ok: false, error: { code: 'BUSY', message: 'the host is serving too many connections: try again' } }), () => socket.destroy());
      return;
    }
    this.#connections.add(socket);
    socket.once('close', () => this.#connections.delete(socket));
    new Connection(socket, this.#handlers, this.#idleTimeoutMs, this.#onError).start();
  }
}

/** Stands in the line queue for a request that was too long to keep. */
const TOO_LARGE = Symbol('too large');

/** One client: reads lines, answers them one at a time, in order. */
class Connection {
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
