// The files a service manager hands the host at start (its file descriptor
// store, passed as LISTEN_FDS/LISTEN_FDNAMES), taken the way
// sd_listen_fds_with_names(3) does, with every outcome as data for the log.
import { closeSync, fstatSync } from 'node:fs';
import { SD_LISTEN_FDS_START, SHARED_FD_NAME } from '../../format/index.js';
import { setCloseOnExec } from '../../sys/index.js';

/** A passed descriptor the host closed, with its LISTEN_FDNAMES name. */
export interface ClosedFd {
  readonly fd: number;
  readonly name: string;
}

export type Handover =
  /** LISTEN_FDS is unset: a first start, or a unit without a file descriptor store. */
  | { readonly kind: 'none' }
  /** Files were passed and none can be the shared file; `reason` is one line for the log. */
  | { readonly kind: 'unusable'; readonly reason: string; readonly closed: readonly ClosedFd[] }
  /**
   * The shared file the previous host stored, as `fd` (now close-on-exec).
   * Every other passed regular file was closed and is listed in `closed`
   * (a second SHM_SHARED_FD, say, left by a store that held two).
   */
  | { readonly kind: 'file'; readonly fd: number; readonly closed: readonly ClosedFd[] };

const DIGITS = /^[0-9]+$/;

/**
 * Takes the descriptors passed to process `pid` by its service manager.
 * As sd_listen_fds(3): only when LISTEN_PID is `pid` (otherwise they were
 * meant for another process and are left alone); they start at fd 3;
 * each is made close-on-exec, so no child inherits one unasked. The first
 * one named SHM_SHARED_FD (LISTEN_FDNAMES, colon-separated) that is a
 * regular file is the shared file; every other passed regular file is
 * closed, other kinds of descriptor are left open.
 * Whether the file holds a valid, consistent state is for the capture to
 * prove. Never throws for what the environment says; `close` is for tests.
 */
export function takeHandover(env: NodeJS.ProcessEnv, pid: number, close: (fd: number) => void = closeSync): Handover {
  const { LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES } = env;
  if (LISTEN_FDS === undefined) return { kind: 'none' };
  if (LISTEN_PID === undefined || !DIGITS.test(LISTEN_PID) || Number(LISTEN_PID) !== pid) {
    return { kind: 'unusable', reason: `LISTEN_FDS=${LISTEN_FDS} was passed for process ${LISTEN_PID ?? '(LISTEN_PID unset)'}, not this host (${pid}): start shm-host itself as the unit's main process (no wrapper that forks)`, closed: [] };
  }
  if (!DIGITS.test(LISTEN_FDS) || Number(LISTEN_FDS) < 1) {
    return { kind: 'unusable', reason: `LISTEN_FDS=${LISTEN_FDS} passes no descriptor`, closed: [] };
  }
  const count = Number(LISTEN_FDS);
  const names = LISTEN_FDNAMES === undefined ? [] : LISTEN_FDNAMES.split(':');
  let chosen: number | null = null;
  const rejected: string[] = [];
  const closed: ClosedFd[] = [];
  for (let i = 0; i < count; i++) {
    const fd = SD_LISTEN_FDS_START + i;
    // systemd names a descriptor without FDNAME= "stored" (fd store) or "unknown".
    const name = names[i] ?? 'unknown';
    try {
      setCloseOnExec(fd);
    } catch {
      rejected.push(`fd ${fd} (${name}) is not open`);
      continue;
    }
    const regular = isRegularFile(fd);
    if (chosen === null && name === SHARED_FD_NAME) {
      if (regular) {
        chosen = fd;
        continue;
      }
      rejected.push(`fd ${fd} (${name}) is not a regular file`);
    }
    // Only a stored file is closed (it may pin a whole old state in memory).
    // Anything else is left open: were LISTEN_FDS wrong, it could be one of
    // Node's own descriptors (its event loop's, from fd 3 up).
    if (!regular) continue;
    close(fd);
    closed.push({ fd, name });
  }
  if (chosen !== null) return { kind: 'file', fd: chosen, closed };
  const why = rejected.length > 0 ? rejected.join('; ') : `none is named ${SHARED_FD_NAME} (LISTEN_FDNAMES=${LISTEN_FDNAMES ?? ''})`;
  return { kind: 'unusable', reason: `the service manager passed ${count} descriptor${count === 1 ? '' : 's'} and none is a shared file: ${why}`, closed };
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}
