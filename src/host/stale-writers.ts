// No writer outlives the host. A child that drops privileges (setpriv
// --reuid) loses its parent-death signal, and one that calls setsid leaves
// the process group the host kills; either may keep writing the memory
// file after the host died. Every memory file of a host is named after its
// snapshot directory, so the next host on that directory (and this one at
// its end) finds whoever still holds one and kills it before any child of
// its own starts.
import { statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { ancestors, commandName, isAlive, memfdHolders } from '../sys/index.js';
import type { Logger } from './logger.js';

/**
 * The memfd name of every shared file of the host on `dir`:
 * `shm-host:<dev>:<ino>` of the directory, the same for every host that
 * opens it (by any path) and different for every other directory.
 */
export function sharedFileName(dir: string): string {
  const { dev, ino } = statSync(dir);
  return `shm-host:${dev}:${ino}`;
}

const WHY = {
  // At start the directory's lock is held: no other host uses it, so these are left over from one that died.
  start: 'they held the shared memory of a previous host on this directory (a child that dropped privileges or left its process group)',
  end: 'they still held the shared memory as the host ends (a child that left its process group)',
};

/**
 * SIGKILLs every process that holds or maps a memory file named `name`
 * (never PID 1 or an ancestor of the host: a service manager keeping the
 * file in its fd store) and waits until each is dead (a zombie counts: it runs no more) or
 * `timeoutMs` passed. Logs what it killed and anything that would not die.
 * `when` says which: before the host's first child, or at the host's end.
 * Returns the pids killed, and those of them still alive at the deadline.
 */
export async function endStaleWriters(name: string, log: Logger, when: keyof typeof WHY, timeoutMs = 5000): Promise<{ killed: number[]; living: number[] }> {
  const why = WHY[when];
  // The host's own ancestors are not writers: its service manager holds the
  // live file in its file descriptor store (FDSTORE=1), and killing systemd
  // would end the service, not a stray child.
  const spared = new Set([1, ...ancestors()]);
  const holders = memfdHolders(name).filter((pid) => !spared.has(pid));
  if (holders.length === 0) return { killed: [], living: [] };
  const described = holders.map((pid) => `${pid} (${commandName(pid)})`).join(', ');
  for (const pid of holders) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already, or not ours to kill: the wait below tells.
    }
  }
  const deadline = performance.now() + timeoutMs;
  let living = holders.filter(isAlive);
  for (let pollMs = 1; living.length > 0 && performance.now() < deadline; pollMs = Math.min(pollMs * 2, 50)) {
    await delay(pollMs);
    living = living.filter(isAlive);
  }
  log.log('warn', 'stale-writers', `killed ${described}: ${why}`, { pids: holders });
  if (living.length > 0) {
    log.log('error', 'stale-writers', `processes ${living.join(', ')} still hold the shared memory after SIGKILL; they may still write it`, { pids: living });
  }
  return { killed: holders, living };
}

/** What a host's store offers for its running mark (src/store host-running.ts). */
export interface RunningMark {
  markHostRunning(): Promise<boolean>;
  clearHostRunning(): Promise<void>;
}

/**
 * Before the host's first child: marks the directory as a running host's
 * and, only when an earlier host left that mark (it did not end cleanly),
 * ends the writers it may have left. A clean end leaves none, and the
 * search costs more the more processes the machine runs.
 * @throws StoreError when the mark cannot be written.
 */
export async function endStaleWritersAtStart(name: string, log: Logger, store: RunningMark): Promise<void> {
  if (await store.markHostRunning()) await endStaleWriters(name, log, 'start');
}

/**
 * At the host's end: ends whatever still holds its shared memory and, when
 * nothing does any more, removes the running mark. A mark it cannot remove
 * is logged: the next start then searches in vain, which is slower, never wrong.
 */
export async function endStaleWritersAtEnd(name: string, log: Logger, store: RunningMark): Promise<void> {
  if ((await endStaleWriters(name, log, 'end')).living.length > 0) return;
  try {
    await store.clearHostRunning();
  } catch (err) {
    log.log('warn', 'marker', `${(err as Error).message}: the next start will look for leftover writers`);
  }
}
