// The signals the host answers: SIGTERM, SIGINT and SIGHUP stop it (each
// forwarded to the child, SIGKILL after the stop timeout); SIGUSR1 asks
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

/**
 * The restart delay of a child killed by `signal`: at least
 * STOP_SIGNAL_GRACE_MS after a stop signal, which may have reached the child
 * first (systemd's KillMode=control-group signals the whole unit at once),
 * so the host's own has time to arrive and end it instead.
 */
export function delayAfterDeath(signal: string | null, delayMs: number): number {
  return isStopSignal(signal) ? Math.max(delayMs, STOP_SIGNAL_GRACE_MS) : delayMs;
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
