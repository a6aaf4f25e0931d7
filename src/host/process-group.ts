import { setTimeout as delay } from 'node:timers/promises';
import { livingGroupMembers, reapGroup } from '../sys/index.js';

/** Sends `signal` to every process of group `pgid`; a group already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Whether any process, a zombie included, is still in group `pgid`. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * SIGKILLs group `pgid` and waits until none of its members can run. Members
 * orphaned by the kill are reparented to this host (a child subreaper) and
 * reaped here; a zombie counts as gone, since PID 1 may never reap it. Call
 * only after the group leader's own exit was collected. Returns the pids
 * still alive at the deadline (normally none).
 */
export async function killGroupAndWait(pgid: number, timeoutMs = 5000): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  let pollMs = 1;
  for (;;) {
    signalGroup(pgid, 'SIGKILL');
    reapGroup(pgid);
    // The usual case, at the cost of one system call: no process is left in
    // the group at all (kill(2) fails with ESRCH), so no /proc scan (2-3 ms
    // here, more on a busy machine) and no poll.
    if (!groupExists(pgid)) return [];
    const living = livingGroupMembers(pgid);
    if (living.length === 0) return [];
    if (performance.now() >= deadline) return living;
    await delay(pollMs);
    pollMs = Math.min(pollMs * 2, 50);
  }
}

/**
 * Waits until no member of group `pgid` can run any more, or until the
 * monotonic time `deadline` (performance.now() ms), reaping the members
 * reparented here. Resolves to whether the group ended by itself.
 */
export async function waitGroupUntil(pgid: number, deadline: number): Promise<boolean> {
  let pollMs = 1;
  for (;;) {
    reapGroup(pgid);
    if (livingGroupMembers(pgid).length === 0) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await delay(Math.min(pollMs, left));
    pollMs = Math.min(pollMs * 2, 50);
  }
}
