import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawn } from 'node:child_process';
import { ShmHostError } from '../errors.js';
import { SHARED_FD_NAME } from '../format/index.js';
import type { Logger } from './logger.js';
import { ownName, type OptionName } from './options.js';
import { manageChild } from './reaper.js';

/** How a child ended, as data. */
export interface ChildExit {
  readonly pid: number;
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** Signal name (`SIGKILL`), or null. */
  readonly signal: NodeJS.Signals | null;
  /** True when the host had to SIGKILL it after a stop timeout. */
  readonly forced: boolean;
  readonly ranMs: number;
  /** Set when no process could be started: the errno name of the failed fork or exec. */
  readonly startError?: string;
}

/** Exit status a shell would report: the code, or 128 + the signal's number. */
export function exitStatus(exit: Pick<ChildExit, 'code' | 'signal'>, signalNumbers: Record<string, number>): number {
  // A child never started (code and signal null) counts as a failure: 1.
  if (exit.signal !== null) return 128 + (signalNumbers[exit.signal] ?? 0);
  return exit.code ?? 1;
}

/** Says how a child ended in words: `exited with code 3`, `killed by SIGKILL`. */
export function describeExit(exit: Pick<ChildExit, 'code' | 'signal' | 'startError'>): string {
  if (exit.startError !== undefined) return `could not be started (${exit.startError})`;
  return exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** The command to supervise cannot be run (no such file, not executable, not in PATH). */
export class CommandNotFoundError extends ShmHostError {
  readonly command: string;
  constructor(command: string, why: string) {
    super('COMMAND_NOT_FOUND', `cannot run ${command}: ${why}`);
    this.name = 'CommandNotFoundError';
    this.command = command;
  }
}

const isExecutableFile = (path: string): boolean => {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Resolves `command` as exec would (a path, or a name searched in PATH), so
 * that a typo fails once with a clear message instead of a restart loop.
 */
export function resolveCommand(command: string, env: NodeJS.ProcessEnv): string {
  if (command.includes('/')) {
    if (isExecutableFile(command)) return command;
    throw new CommandNotFoundError(command, 'no such executable file (check the path and its execute permission)');
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir || '.', command);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new CommandNotFoundError(command, 'command not found in PATH');
}

/**
 * The child's environment: the host's own, without any socket-activation
 * variables meant for the host, plus the shared file's. LISTEN_PID is set by
 * the trampoline, the only place the child's pid is known before it runs.
 */
export function childEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'LISTEN_PIDFDID']) delete out[k];
  out.LISTEN_FDS = '1';
  out.LISTEN_FDNAMES = SHARED_FD_NAME;
  return out;
}

/** True for a name a POSIX shell keeps in the environment it passes on (letters, digits, `_`, not starting with a digit). */
export const isShellName = (name: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);

/**
 * The exec trampoline. setpriv sets PDEATHSIG=KILL, then the shell checks
 * that its parent is still this host (had the host died before the prctl,
 * no signal would ever come: the child must not start as an orphan), sets
 * LISTEN_PID to its own pid and execs the command, which keeps that pid.
 * A POSIX shell drops variables whose names are not shell names (`a.b`,
 * `my-var`) from the environment it execs with, so those are handed to
 * `env` as NAME=VALUE arguments and env execs the command with them: the
 * child gets exactly `environment`. (Those arguments are visible in the
 * trampoline's command line until env execs the command.)
 */
export function trampoline(hostPid: number, command: string, args: readonly string[], environment: Record<string, string> = {}): { file: string; args: string[] } {
  const kept = Object.entries(environment).filter(([name]) => name !== '' && !isShellName(name)).map(([name, value]) => `${name}=${value}`);
  const exec = kept.length > 0 ? `exec env -- "$@"` : 'exec "$0" "$@"';
  const script = `[ "$PPID" = "${hostPid}" ] || exit 129; export LISTEN_PID=$$; ${exec}`;
  // (env would take a command whose path holds '=' for one more assignment: the one case this cannot run.)
  const tail = kept.length > 0 ? ['sh', ...kept, command, ...args] : [command, ...args];
  return { file: 'setpriv', args: ['--pdeathsig', 'KILL', 'sh', '-c', script, ...tail] };
}

/** The host cannot start children safely without setpriv (util-linux), which sets their parent-death signal. */
export class MissingToolError extends ShmHostError {
  constructor(message: string) {
    super('MISSING_TOOL', message);
    this.name = 'MissingToolError';
  }
}

/** Fails early, with the fix, when the trampoline's tools are missing. */
export function requireTrampoline(env: NodeJS.ProcessEnv): void {
  for (const tool of ['setpriv', 'sh', 'env']) {
    try {
      resolveCommand(tool, env);
    } catch {
      const pkg = tool === 'setpriv' ? 'util-linux' : tool === 'env' ? 'coreutils' : 'a POSIX shell';
      throw new MissingToolError(`${tool} is not in PATH: shm-host needs it to start children that die with the host (install ${pkg})`);
    }
  }
}

export interface StartedChild {
  readonly pid: number;
  /** When it started, in performance.now() milliseconds (a monotonic clock). */
  readonly startedAt: number;
  /** Resolves once the child (the group leader) has exited. Never rejects. */
  readonly exited: Promise<Omit<ChildExit, 'forced'>>;
}

/** A child that could not be started at all: fork or exec failed (`EAGAIN` with a pids cgroup at its limit, say). */
export interface SpawnFailure {
  /** The errno name (`EAGAIN`, `ENOMEM`...), or `UNKNOWN`. */
  readonly errno: string;
  readonly message: string;
}

/**
 * Starts `command` with `sharedFd` as its fd 3, stdio passed through, in a
 * process group of its own (the host kills the group as a whole). Resolves
 * to a SpawnFailure when no process could be created: that may pass (a
 * full process table, a pids cgroup at its limit), so it is a failed start
 * for the restart policy, not the host's end.
 */
export async function startChild(command: string, args: readonly string[], sharedFd: number, env: NodeJS.ProcessEnv): Promise<StartedChild | SpawnFailure> {
  const environment = childEnvironment(env);
  const t = trampoline(process.pid, command, args, environment);
  const startedAt = performance.now();
  // Node's own spawn, not the process library: loading that library cost
  // 250-430 ms of the host's start on a loaded machine (npm run bench:startup).
  const subprocess = spawn(t.file, t.args, {
    // The number is dup'ed onto fd 3 in the child (which clears its close-on-exec flag).
    stdio: ['inherit', 'inherit', 'inherit', sharedFd],
    env: environment,
    detached: true,
  });
  const pid = subprocess.pid;
  if (pid === undefined) {
    // fork or exec failed: spawn reports it as an 'error' event, after this tick.
    const cause = await new Promise<NodeJS.ErrnoException>((resolve) => subprocess.once('error', resolve));
    const errno = cause.code ?? 'UNKNOWN';
    return { errno, message: `the child could not be started: ${cause.syscall ?? `spawn ${t.file}`} failed: ${errno}` };
  }
  // An 'error' after a successful spawn (a failed kill()) changes nothing here; 'exit' still comes.
  subprocess.on('error', () => {});
  const exited = new Promise<Omit<ChildExit, 'forced'>>((resolve) => {
    subprocess.once('exit', (code, signal) => resolve({
      pid,
      code: signal ? null : code,
      signal: (signal ?? null) as NodeJS.Signals | null,
      ranMs: performance.now() - startedAt,
    }));
  });
  manageChild(pid, exited);
  return { pid, startedAt, exited };
}

/** Logs the `exit` event of a child that ran (info for code 0, else warn). */
/** The same as a sentence's subject and verb: `the child exited with code 3`, `the child was killed by SIGKILL`. */
export function theChildEnded(exit: Pick<ChildExit, 'code' | 'signal' | 'startError'>): string {
  return `the child ${endedAsVerb(exit)}`;
}

/** describeExit() as the verb of a sentence: `exited with code 3`, `was killed by SIGKILL`. */
function endedAsVerb(exit: Pick<ChildExit, 'code' | 'signal' | 'startError'>): string {
  return `${exit.signal !== null && exit.startError === undefined ? 'was ' : ''}${describeExit(exit)}`;
}

/**
 * Logs how a child ended: info for a clean exit, or for any end while the
 * host stops it (`stopping`); warn otherwise. `optionName` names the stop
 * timeout of a forced end (SupervisorOptions.optionName).
 */
export function logChildExit(log: Logger, exit: ChildExit, stopping = false, optionName: OptionName = ownName): void {
  log.log(stopping || (exit.signal === null && exit.code === 0) ? 'info' : 'warn', 'exit',
    `child ${exit.pid} ${endedAsVerb(exit)}${exit.forced ? ` (forced after ${optionName('stopTimeoutMs')})` : ''} after ${(exit.ranMs / 1000).toFixed(1)}s`,
    { pid: exit.pid, code: exit.code, signal: exit.signal, forced: exit.forced, ranMs: exit.ranMs });
}

/** Logs a child that could not be started (`start-failed`) and returns it as an exit the restart policy judges a failure. */
export function failedStart(log: Logger, failure: SpawnFailure): ChildExit {
  log.log('error', 'start-failed', `${failure.message}; the restart policy decides when to try again`, { errno: failure.errno });
  return { pid: 0, code: null, signal: null, forced: false, ranMs: 0, startError: failure.errno };
}
