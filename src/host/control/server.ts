// The host's end of the live channel: a unix socket in the snapshot
// directory answering newline-delimited JSON requests. Whatever a peer
// sends, the host answers it or drops the connection; it never throws into
// the supervisor.
import fs from 'node:fs';
import net from 'node:net';
import { ControlError } from './errors.js';
import { Connection } from './connection.js';
import { encodeLine, type HostStatus, type SnapshotResult } from './protocol.js';
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
    throw new ControlError('SOCKET_IN_USE', `another process is listening on ${path}`, { path, hint: 'stop the other shm-host or use another snapshot directory', option: 'dir' });
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
        reject(new ControlError('SOCKET_IN_USE', `another process just bound ${path}`, { path, hint: 'stop the other shm-host or use another snapshot directory', option: 'dir', cause: err }));
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
