// The host is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): every orphan
// of its children's trees is reparented to it, and it must reap them or
// they stay zombies (a child running `(sleep 1 &)` in a loop fills the
// process table). Its own children are waited for by libuv, which must keep
// their exit status: those pids are registered here and never reaped. A
// program that runs supervise() in-process may start children of its own,
// which libuv waits for too: those share the host's process group, while
// everything of the supervised trees lives in the groups (or sessions) the
// children made, so zombies in the host's own group are left alone.
import { childPids, processGroupOf, processState, reapChild } from '../sys/index.js';

/** Pids of the children this process started and libuv waits for. */
const managed = new Set<number>();

/** Registers `pid` as waited for by libuv until `exited` settles. */
export function manageChild(pid: number, exited: Promise<unknown>): void {
  managed.add(pid);
  void exited.finally(() => managed.delete(pid));
}

/**
 * Reaps every exited child of this process that no one else waits for (an
 * orphan reparented here). Returns how many it reaped.
 */
export function reapOrphans(): number {
  let reaped = 0;
  const ownGroup = processGroupOf(process.pid);
  for (const pid of childPids()) {
    if (managed.has(pid) || processState(pid) !== 'Z' || processGroupOf(pid) === ownGroup) continue;
    try {
      if (reapChild(pid)) reaped += 1;
    } catch {
      // Gone meanwhile, or not ours after all: nothing to collect.
    }
  }
  return reaped;
}

/** Reaps orphans at every SIGCHLD until the returned function is called. */
export function reapOrphansOnSigchld(): () => void {
  const handler = (): void => void reapOrphans();
  process.on('SIGCHLD', handler);
  reapOrphans();
  return () => process.off('SIGCHLD', handler);
}
