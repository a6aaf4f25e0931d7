// The command-line end of the live channel: one request, one reply.
import fs from 'node:fs';
import net from 'node:net';
import { ControlError } from './errors.js';
import { MAX_REPLY_BYTES, encodeLine, type HostStatus, type SnapshotResult } from './protocol.js';
import { socketAddress, socketPath } from './socket-path.js';

type RequestBody = { readonly op: 'status' } | { readonly op: 'snapshot'; readonly wait: boolean };

const NO_HOST_HINT = 'start a host on that directory';

/**
 * Sends one request to the host running on `dir` and resolves with its
 * result. Throws a ControlError: NO_HOST when nothing listens there,
 * TIMEOUT, BAD_REPLY, REFUSED with the host's own message, or BAD_PATH;
 * but a `dir` that is no directory (a file, or under one) or cannot be
 * inspected is the store's DirectoryPathError, worded as every command
 * that reads the directory words it (not as the socket's path).
 */
export async function requestHost(dir: string, body: RequestBody, timeoutMs: number): Promise<unknown> {
  try {
    return await ask(dir, body, timeoutMs);
  } catch (err) {
    if (!(err instanceof ControlError) || err.code !== 'BAD_PATH') throw err;
    // Loaded on this error path only: status and snapshot need no store otherwise.
    const { directoryPathProblem } = await import('../../store/index.js');
    throw (await directoryPathProblem(dir, false)) ?? err;
  }
}

async function ask(dir: string, body: RequestBody, timeoutMs: number): Promise<unknown> {
  const path = socketPath(dir);
  let address;
  try {
    address = socketAddress(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? noHost(dir, path, 'the directory does not exist', err) : pathError(dir, path, err as NodeJS.ErrnoException);
  }
  const id = Math.floor(Math.random() * 2 ** 31);
  const line = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ path: address.address });
    let received = '';
    let settled = false;
    const finish = (err: Error | null, value = ''): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      address.release();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new ControlError('TIMEOUT', `the host on ${dir} did not answer within ${timeoutMs} ms`, { path, hint: 'it may be busy: retry, or allow it a longer timeout', option: 'timeoutMs' })), timeoutMs);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(encodeLine({ id, ...body })));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end >= 0) finish(null, received.slice(0, end));
      else if (received.length > MAX_REPLY_BYTES) finish(badReply(dir, path, `a reply longer than ${MAX_REPLY_BYTES} bytes`));
    });
    socket.once('end', () => finish(badReply(dir, path, 'the connection closed before a reply')));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') finish(noHost(dir, path, fs.existsSync(dir) ? 'it has no control socket' : 'the directory does not exist', err));
      else if (err.code === 'ECONNREFUSED') finish(noHost(dir, path, 'its control socket is left from a host that is gone', err));
      else if (err.code !== undefined && err.code in PATH_PROBLEMS) finish(pathError(dir, path, err));
      else finish(badReply(dir, path, `a connection error (${err.code ?? err.message})`));
    });
  });
  return parseReply(dir, path, line, id);
}

function parseReply(dir: string, path: string, line: string, id: number): unknown {
  let reply: unknown;
  try {
    reply = JSON.parse(line);
  } catch {
    throw badReply(dir, path, 'a reply that is not JSON');
  }
  if (typeof reply !== 'object' || reply === null) throw badReply(dir, path, 'a reply that is not an object');
  const r = reply as { id?: unknown; ok?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
  if (r.ok === true && r.id === id) return r.result;
  if (r.ok === false && typeof r.error?.message === 'string') {
    throw new ControlError('REFUSED', `the host on ${dir} refused: ${r.error.message}`, { path, hint: 'see the host\'s log' });
  }
  throw badReply(dir, path, 'a reply that does not answer the request');
}

const noHost = (dir: string, path: string, why: string, cause: unknown): ControlError =>
  new ControlError('NO_HOST', `no shm-host is running on ${dir}: ${why}`, { path, hint: NO_HOST_HINT, option: 'dir', cause });

/** Errors of connect(2) and open(2) that say the path is unusable, not that no host runs: [what, fix]. */
const PATH_PROBLEMS: Record<string, readonly [string, string]> = {
  EACCES: ['permission denied', 'run as the user who started the host'],
  ENOTDIR: ['a part of the path is not a directory', "check the snapshot directory's path"],
  ELOOP: ['too many symbolic links', "check the snapshot directory's path"],
  ENAMETOOLONG: ['the path is too long', 'use a shorter path for the snapshot directory'],
};

const pathError = (dir: string, path: string, err: NodeJS.ErrnoException): ControlError => {
  const [what, hint] = PATH_PROBLEMS[err.code ?? ''] ?? [err.message, "check the snapshot directory's path"];
  return new ControlError('BAD_PATH', `cannot reach a host on ${dir} at ${path}: ${what} (${err.code ?? 'error'})`, { path, hint, cause: err });
};

const badReply = (dir: string, path: string, what: string): ControlError =>
  new ControlError('BAD_REPLY', `the host on ${dir} sent ${what}`, { path, hint: 'is the host the same version as this command? see its log' });

/** The running host's status, its shape checked (ControlError BAD_REPLY for one this version cannot read). */
export async function fetchStatus(dir: string, timeoutMs: number): Promise<HostStatus> {
  return checkStatus(await requestHost(dir, { op: 'status' }, timeoutMs), dir);
}

/**
 * Asks for a capture now; with `wait`, resolves once it is durable with its
 * sequence (ControlError BAD_REPLY when the reply carries none).
 */
export async function requestSnapshot(dir: string, wait: boolean, timeoutMs: number): Promise<SnapshotResult | { accepted: true }> {
  const reply = await requestHost(dir, { op: 'snapshot', wait }, timeoutMs);
  if (!wait) return { accepted: true };
  const sequence = (reply as { sequence?: unknown } | null)?.sequence;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence)) {
    throw new ControlError('BAD_REPLY', `the host on ${dir} answered the capture without a sequence`, { path: socketPath(dir), hint: 'use the shm-host that started the host' });
  }
  return { sequence };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the reply has the fields the text view reads (the host is trusted, but may be another version). */
function checkStatus(value: unknown, dir: string): HostStatus {
  const s = value as Partial<HostStatus> | null;
  const ok = isObject(s) && typeof s.pid === 'number' && typeof s.uptimeMs === 'number' && isObject(s.child) && Array.isArray(s.child.command)
    && typeof s.restarts === 'number' && Array.isArray(s.lastExits) && typeof s.starvedCaptures === 'number' && typeof s.durableOffset === 'string'
    && typeof s.intervalMs === 'number' && typeof s.dir === 'string' && typeof s.child.state === 'string'
    && s.lastExits.every((e) => isObject(e) && typeof e.reason === 'string' && typeof e.time === 'string')
    && (s.lastCapture === null || (isObject(s.lastCapture) && typeof s.lastCapture.time === 'string' && typeof s.lastCapture.sequence === 'number'))
    && (s.lastRestart == null || (isObject(s.lastRestart) && typeof s.lastRestart.totalMs === 'number' && typeof s.lastRestart.restart === 'number'))
    && (s.nextCaptureDue === null || typeof s.nextCaptureDue === 'string');
  if (!ok) throw new ControlError('BAD_REPLY', `the host on ${dir} sent a status this shm-host cannot read`, { path: socketPath(dir), hint: 'use the shm-host that started the host' });
  return s as HostStatus;
}

