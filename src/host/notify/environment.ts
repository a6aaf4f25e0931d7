// What the service manager tells its main process through the environment
// (sd_notify(3), sd_watchdog_enabled(3), systemd.exec(5) "Environment
// variables in spawned processes"). Pure: reads an environment object.

/** The variables that make a process talk to the service manager as the unit's main process. */
export const NOTIFY_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

export interface NotifyEnvironment {
  /** NOTIFY_SOCKET: `/path` or `@abstract`; null when unset or empty (then every notification is a no-op). */
  readonly socket: string | null;
  /**
   * How often to send WATCHDOG=1, in ms: half of WATCHDOG_USEC, as
   * sd_watchdog_enabled(3) advises; null when the watchdog is off or meant
   * for another process (WATCHDOG_PID set and not `pid`).
   */
  readonly watchdogIntervalMs: number | null;
  /** WATCHDOG_USEC as given, in microseconds (null when unset or unusable). */
  readonly watchdogUsec: number | null;
  /** Values that could not be used, one line each, for the host's log. */
  readonly problems: readonly string[];
}

const DIGITS = /^[0-9]+$/;

/**
 * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID for process `pid`.
 * A NOTIFY_SOCKET that is neither an absolute path nor `@name` is reported
 * (sd_notify returns EAFNOSUPPORT for it; systemd 252 knows no other kind).
 */
export function readNotifyEnvironment(env: NodeJS.ProcessEnv, pid: number): NotifyEnvironment {
  const problems: string[] = [];
  let socket: string | null = env.NOTIFY_SOCKET || null;
  if (socket !== null && !socket.startsWith('/') && !(socket.startsWith('@') && socket.length > 1)) {
    problems.push(`NOTIFY_SOCKET=${socket} is neither an absolute path nor an @abstract name: not notifying the service manager`);
    socket = null;
  }
  let watchdogUsec: number | null = null;
  let watchdogIntervalMs: number | null = null;
  const usec = env.WATCHDOG_USEC;
  const wpid = env.WATCHDOG_PID;
  if (usec !== undefined && usec !== '') {
    if (!DIGITS.test(usec) || Number(usec) <= 0 || !Number.isSafeInteger(Number(usec))) {
      problems.push(`WATCHDOG_USEC=${usec} is not a positive number of microseconds: no watchdog keep-alives`);
    } else if (wpid !== undefined && wpid !== '' && !(DIGITS.test(wpid) && Number(wpid) === pid)) {
      // The watchdog belongs to another process of the unit (sd_watchdog_enabled: "not for us").
    } else {
      watchdogUsec = Number(usec);
      // Never below 1 ms: a timer cannot do better, and systemd's own floor is far above it.
      watchdogIntervalMs = Math.max(1, Math.floor(watchdogUsec / 2000));
    }
  }
  return { socket, watchdogIntervalMs, watchdogUsec, problems };
}

/**
 * A copy of `env` without the notification variables, for a child of the
 * host: the host is the unit's main process and the only one that talks to
 * the service manager (a child's READY=1 or WATCHDOG=1 would speak for the
 * whole unit; under NotifyAccess=main systemd would refuse it with a warning).
 */
export function withoutNotifyVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of NOTIFY_VARIABLES) delete out[name];
  return out;
}
