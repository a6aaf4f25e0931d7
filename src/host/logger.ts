// The host's log: one event per line on stderr. A supervisor must outlive
// whoever reads its log (a `| head -1`, a FIFO whose reader exits, systemd
// without a running journal): a line that cannot be written is dropped and
// counted, never a reason to exit.
import { constants, fstatSync, openSync, writeSync } from 'node:fs';

export type LogFormat = 'text' | 'json';
export type LogLevel = 'info' | 'warn' | 'error';

/** One event per line on stderr: `shm-host: <message>`, or one JSON object with the event's fields. */
export interface Logger {
  log(level: LogLevel, event: string, message: string, fields?: Record<string, unknown>): void;
  /** Lines that could not be written (the reader went away, a full non-blocking pipe); 0 for a custom `write`. */
  readonly dropped?: number;
}

const jsonSafe = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);

let logFd: number | null = null;

/**
 * The descriptor log lines go to. When stderr is a pipe (a `| head`, a
 * FIFO), a descriptor of its own for that pipe, opened non-blocking through
 * /proc/self/fd/2: a reader that stops reading makes writes fail with
 * EAGAIN (the line is dropped) instead of stopping the host, and the open
 * file description the child shares stays as it was. Anything else (a
 * terminal, a file opened for appending, a socket): fd 2 itself.
 */
function stderrFd(): number {
  if (logFd !== null) return logFd;
  logFd = 2;
  try {
    if (fstatSync(2).isFIFO()) logFd = openSync('/proc/self/fd/2', constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    // No /proc, or stderr closed: fd 2 as it is.
  }
  return logFd;
}

/**
 * Writes `line` to stderr without Node's stream (whose EPIPE becomes an
 * uncaught 'error' event) and without waiting on a pipe nobody reads.
 * Returns false when the line (or its rest) could not be written: EPIPE,
 * EAGAIN, EBADF, or any other write error.
 */
export function writeStderrLine(line: string): boolean {
  const bytes = Buffer.from(line);
  const fd = stderrFd();
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    return true;
  } catch {
    return false;
  }
}

let streamGuarded = false;

/** Keeps a write error on process.stderr (from code outside the logger) from ending the process. */
function guardStderrStream(): void {
  if (streamGuarded) return;
  streamGuarded = true;
  process.stderr.on('error', () => {});
}

/**
 * A logger writing to stderr (or to `write`, which returns false for a line
 * it dropped). After lines were dropped, the next line that gets through is
 * preceded by one saying how many.
 */
export function createLogger(options: { format: LogFormat; quiet: boolean; write?: (line: string) => boolean | void }): Logger {
  if (!options.write) guardStderrStream();
  const write = options.write ?? writeStderrLine;
  let dropped = 0;
  let unreported = 0;
  const emit = (level: LogLevel, event: string, message: string, fields: Record<string, unknown>): boolean => {
    const line = options.format === 'json'
      ? `${JSON.stringify({ time: new Date().toISOString(), level, event, message, ...fields }, jsonSafe)}\n`
      : `shm-host: ${level === 'info' ? '' : `${level}: `}${message}\n`;
    return write(line) !== false;
  };
  return {
    get dropped() {
      return dropped;
    },
    log(level, event, message, fields = {}) {
      if (options.quiet && level !== 'error') return;
      if (unreported > 0 && emit('warn', 'log-dropped', `${unreported} log line(s) could not be written and were dropped`, { dropped: unreported })) unreported = 0;
      if (!emit(level, event, message, fields)) {
        dropped += 1;
        unreported += 1;
      }
    },
  };
}
