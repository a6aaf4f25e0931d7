// The signals the host answers: SIGTERM, SIGINT and SIGHUP stop it (each
// forwarded to the child, SIGKILL after the stop timeout); SIGUSR1 asks
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
 * Forwards `signal` to the child `pid` and SIGKILLs its process group after
 * `timeoutMs` unless it exited by then (`exited` settles) or `stillCurrent`
 * says it is no longer the child; `onForced` is told before the kill.
 */
export function forwardStop(
  pid: number, signal: NodeJS.Signals, timeoutMs: number, exited: Promise<unknown>, stillCurrent: () => boolean, onForced: () => void,
): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone: its exit is on its way.
  }
  const timer = setTimeout(() => {
    if (!stillCurrent()) return;
    onForced();
    signalGroup(pid, 'SIGKILL');
  }, timeoutMs);
  timer.unref();
  void exited.then(() => clearTimeout(timer));
}
