// The signals the host answers: SIGTERM, SIGINT and SIGHUP stop it (each
// forwarded to the child's process group, SIGKILL after the stop timeout); SIGUSR1 asks
// for a capture now.
import { signalGroup } from './process-group.js';

/** A stop signal the host forwards to the child before its final capture. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * How long a child killed by a stop signal waits before its restart, at
 * least: under systemd's default KillMode=control-group, `systemctl stop`
 * signals the child and the host at once, and the host must not restart a
 * child the service manager is stopping. The host's own signal arrives
 * within a few ms (docs/SYSTEMD.md has the figures); a stop signal from
 * anyone else costs this much delay once.
 */
export const STOP_SIGNAL_GRACE_MS = 250;

/** Whether `signal` is one the host treats as a request to stop. */
export function isStopSignal(signal: string | null): boolean {
  return (STOP_SIGNALS as readonly string[]).includes(signal ?? '');
}

/** Exit codes a shell reports for a death by SIGHUP, SIGINT, SIGTERM (128 + the signal). */
const STOP_EXIT_CODES = [129, 130, 143];

/**
 * The restart delay of a child that ended as `exit` did: at least
 * STOP_SIGNAL_GRACE_MS when a stop signal may have ended it (killed by
 * one, an exit with 128 + one, or a clean exit, as a child that handles
 * SIGTERM makes), since the stop may be the whole service's, reaching the
 * child first (systemd's KillMode=control-group signals the unit at once):
 * the host's own signal then has time to arrive and end it instead.
 * A crash (SIGKILL, SIGSEGV, another exit code) keeps `delayMs`.
 */
export function delayAfterDeath(exit: { readonly code: number | null; readonly signal: string | null }, delayMs: number): number {
  const maybeStopped = isStopSignal(exit.signal) || exit.code === 0 || STOP_EXIT_CODES.includes(exit.code ?? -1);
  return maybeStopped ? Math.max(delayMs, STOP_SIGNAL_GRACE_MS) : delayMs;
}

/** Installed handlers; remove() takes them all away again. */
export interface SignalHandlers {
  remove(): void;
}

/** Routes the host's signals to `onStop` and `onCaptureRequest` until remove(). */
export function installSignalHandlers(onStop: (signal: NodeJS.Signals) => void, onCaptureRequest: () => void): SignalHandlers {
  const installed: Array<[string, () => void]> = [];
  for (const signal of STOP_SIGNALS) {
    const handler = (): void => onStop(signal);
    process.on(signal, handler);
    installed.push([signal, handler]);
  }
  process.on('SIGUSR1', onCaptureRequest);
  installed.push(['SIGUSR1', onCaptureRequest]);
  return {
    remove: () => {
      for (const [signal, handler] of installed.splice(0)) process.off(signal, handler);
    },
  };
}

/**
 * Sends `signal` to the child's whole process group `pgid` (a shell that
 * runs the program would die at once and leave it without the signal), and
 * SIGKILLs the group after `timeoutMs` unless `stillCurrent` says the host
 * moved on; `onForced` is told before the kill. The group, not only the
 * child, gets the time: see waitGroupUntil.
 */
export function forwardStop(pgid: number, signal: NodeJS.Signals, timeoutMs: number, stillCurrent: () => boolean, onForced: () => void): void {
  signalGroup(pgid, signal);
  const timer = setTimeout(() => {
    if (!stillCurrent()) return;
    onForced();
    signalGroup(pgid, 'SIGKILL');
  }, timeoutMs);
  timer.unref();
}
