// How a command fails: a usage error (exit 2), an expected failure (exit 1,
// or the code the command chose), or a bug. Each becomes one line on stderr,
// `shm-host: <problem> (<fix>)`; only a bug, with SHM_HOST_DEBUG=1, shows a stack.
import { AttachError, FormatError } from '../format/index.js';
import { ControlError } from '../host/control/index.js';
import { ExportFormatError, StoreError } from '../store/index.js';
import { SysError } from '../sys/index.js';

/** The command line itself is wrong: exit 2. `fix` says what to type instead. */
export class UsageError extends Error {
  readonly fix: string;
  constructor(problem: string, fix: string) {
    super(problem);
    this.name = 'UsageError';
    this.fix = fix;
  }
}

/**
 * A failure the command expected and explained: exit `exitCode` (1 unless
 * said otherwise). `code` is a stable word for --json output.
 */
export class CommandFailure extends Error {
  readonly code: string;
  readonly fix: string | null;
  readonly exitCode: number;
  constructor(code: string, problem: string, fix: string | null, options: { exitCode?: number; cause?: unknown } = {}) {
    super(problem, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CommandFailure';
    this.code = code;
    this.fix = fix;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** What main() prints and returns for an error. */
export interface Explained {
  readonly exitCode: number;
  /** Stable word for --json (`NOT_FOUND`, `BAD_MAGIC`, `USAGE`, `INTERNAL`...). */
  readonly code: string;
  /** One line, without the `shm-host: ` prefix. */
  readonly line: string;
  readonly expected: boolean;
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'I/O error',
  EEXIST: 'the file exists',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EFBIG: 'the file is too large',
};

const flat = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

/** Splits `problem: hint` messages (store and channel errors) into `problem (hint)`. */
function withHint(message: string, hint: string): string {
  const suffix = `: ${hint}`;
  const problem = message.endsWith(suffix) ? message.slice(0, -suffix.length) : message;
  return `${problem} (${hint})`;
}

/** Classifies any thrown value into the line to print and the exit code. */
export function explain(err: unknown): Explained {
  if (err instanceof UsageError) return { exitCode: 2, code: 'USAGE', line: flat(`${err.message} (${err.fix})`), expected: true };
  if (err instanceof CommandFailure) {
    return { exitCode: err.exitCode, code: err.code, line: flat(err.fix === null ? err.message : `${err.message} (${err.fix})`), expected: true };
  }
  if (err instanceof StoreError) return { exitCode: 1, code: err.code, line: flat(withHint(err.message, err.hint)), expected: true };
  if (err instanceof ControlError) {
    return { exitCode: err.code === 'NO_HOST' ? 3 : 1, code: err.code, line: flat(withHint(err.message, err.hint)), expected: true };
  }
  if (err instanceof FormatError || err instanceof AttachError || err instanceof SysError || err instanceof ExportFormatError) {
    return { exitCode: 1, code: err.code, line: flat(err.message), expected: true };
  }
  const code = (err as { code?: unknown } | null)?.code;
  const path = (err as { path?: unknown } | null)?.path;
  if (typeof code === 'string' && code in FILE_ERRORS) {
    const where = typeof path === 'string' ? `${path}: ` : '';
    return { exitCode: 1, code, line: flat(`${where}${FILE_ERRORS[code]} (${code})`), expected: true };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    exitCode: 1,
    code: 'INTERNAL',
    line: flat(`internal error: ${message} (set SHM_HOST_DEBUG=1 to see where, and report it)`),
    expected: false,
  };
}
