// The signals the host answers: SIGTERM, SIGINT and SIGHUP stop it (each
// forwarded to the child's process group, SIGKILL after the stop timeout); SIGUSR1 asks
// for a capture now.
import { signalGroup } from './process-group.js';

/** A stop signal the host forwards to the child before its final capture. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

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
