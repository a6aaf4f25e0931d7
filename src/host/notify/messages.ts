// The notification messages the host sends, as text (sd_notify(3): newline-
// separated VARIABLE=VALUE assignments in one datagram). Pure.
import { SHARED_FD_NAME } from '../../format/index.js';

/** Longest STATUS= text sent: `systemctl status` shows one line. */
export const MAX_STATUS_LENGTH = 200;

/** One short line: control characters (newlines included) become spaces, long text is cut with an ellipsis. */
export function statusLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length <= MAX_STATUS_LENGTH ? flat : `${flat.slice(0, MAX_STATUS_LENGTH - 1)}…`;
}

export const READY = 'READY=1';
export const STOPPING = 'STOPPING=1';
export const WATCHDOG = 'WATCHDOG=1';

export const status = (text: string): string => `STATUS=${statusLine(text)}`;

/** EXTEND_TIMEOUT_USEC= takes microseconds; `ms` is rounded up to whole ones and never negative. */
export const extendTimeout = (ms: number): string => `EXTEND_TIMEOUT_USEC=${Math.max(0, Math.ceil(ms * 1000))}`;

/**
 * Hands the attached descriptor to the store under SHM_SHARED_FD. It only
 * adds: to replace a stored file, send fdStoreRemove() first, in its own
 * datagram. systemd 252 closes the descriptors of a message that holds both
 * FDSTOREREMOVE=1 and FDSTORE=1 ("Got extra auxiliary fds"), and refuses a
 * second file beyond FileDescriptorStoreMax=1, keeping the old one; both
 * seen under a real user manager (test/notify/systemd.ts).
 */
export const fdStore = (): string => `FDSTORE=1\nFDNAME=${SHARED_FD_NAME}`;

/** Drops every descriptor the store holds under SHM_SHARED_FD. */
export const fdStoreRemove = (): string => `FDSTOREREMOVE=1\nFDNAME=${SHARED_FD_NAME}`;

/** The host's STATUS= text: child, restarts, last durable capture. */
export function hostStatus(state: {
  readonly childPid: number | null;
  readonly restarts: number;
  readonly lastCapture: { readonly sequence: number; readonly time: string } | null;
}): string {
  const child = state.childPid === null ? 'no child running' : `child ${state.childPid} running`;
  const restarts = `${state.restarts} restart${state.restarts === 1 ? '' : 's'}`;
  const capture = state.lastCapture === null ? 'no capture yet' : `last capture: generation ${state.lastCapture.sequence} at ${state.lastCapture.time}`;
  return statusLine(`${child}, ${restarts}, ${capture}`);
}
