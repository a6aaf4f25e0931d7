// How a command fails: a usage error (exit 2), an expected failure (exit 1,
// or the code the command chose), or a bug. Each becomes one line on stderr,
// `shm-host: <problem> (<hint>)`, built from the error's fields; only a bug,
// with SHM_HOST_DEBUG=1, shows a stack.
import { ShmHostError } from '../errors.js';
import { cliHint } from './hints.js';

/** The command line itself is wrong: exit 2. The hint says what to type instead. */
export class UsageError extends ShmHostError {
  constructor(problem: string, fix: string) {
    super('USAGE', problem, { hint: fix });
    this.name = 'UsageError';
  }
}

/**
 * A failure the command expected and explained: exit `exitCode` (1 unless
 * said otherwise). `code` is a stable word for --json output; `fix` (the
 * hint) may name command-line flags, which library errors never do.
 */
export class CommandFailure extends ShmHostError {
  readonly exitCode: number;
  constructor(code: string, problem: string, fix: string | null, options: { exitCode?: number; cause?: unknown } = {}) {
    super(code, problem, { hint: fix ?? undefined, cause: options.cause });
    this.name = 'CommandFailure';
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

/** The exit code for an expected error: 2 for usage (a --dir that cannot be used included), the command's own, 3 when no host runs, else 1. */
function exitCodeOf(err: ShmHostError): number {
  // By name: importing the store's or the live channel's class here would load them (the store koffi, the channel
  // node:net) for every command, the host's start included (docs/BENCHMARKS.md, Start-up).
  if (err instanceof UsageError || err.name === 'DirectoryPathError') return 2;
  if (err.name === 'ControlError' && err.code === 'BAD_PATH') return 2;
  if (err instanceof CommandFailure) return err.exitCode;
  if (err.name === 'ControlError' && err.code === 'NO_HOST') return 3;
  return 1;
}

/** Classifies any thrown value into the line to print and the exit code. */
export function explain(err: unknown): Explained {
  if (err instanceof ShmHostError) {
    const hint = cliHint(err);
    const line = hint === undefined ? err.problem : `${err.problem} (${hint})`;
    return { exitCode: exitCodeOf(err), code: err.code, line: flat(line), expected: true };
  }
  // Node's own file errors (a user's file that cannot be opened): errno code and path are fields too.
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
