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
 * file in its fd store), waits until each is dead (a zombie counts: it runs
 * no more), and looks again, until a look finds none or `timeoutMs` passed:
 * a holder may fork between the look and its SIGKILL, and its child holds
 * the file too. Logs what it killed and anything that would not die.
 * `when` says which: before the host's first child, or at the host's end.
 * Returns the pids killed, and those still alive at the end (none when the
 * last look found no holder).
 */
export async function endStaleWriters(name: string, log: Logger, when: keyof typeof WHY, timeoutMs = 5000): Promise<{ killed: number[]; living: number[] }> {
  const why = WHY[when];
  // The host's own ancestors are not writers: its service manager holds the
  // live file in its file descriptor store (FDSTORE=1), and killing systemd
  // would end the service, not a stray child.
  const spared = new Set([1, ...ancestors()]);
  const deadline = performance.now() + timeoutMs;
  const killed: number[] = [];
  for (;;) {
    const holders = memfdHolders(name).filter((pid) => !spared.has(pid));
    if (holders.length === 0) return { killed, living: [] };
    const fresh = holders.filter((pid) => !killed.includes(pid));
    // Named before the SIGKILL: a dead process's /proc entry says nothing.
    const described = fresh.map((pid) => `${pid} (${commandName(pid)})`).join(', ');
    for (const pid of holders) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already, or not ours to kill: the wait below tells.
      }
    }
    if (fresh.length > 0) {
      log.log('warn', 'stale-writers', `killed ${described}: ${why}`, { pids: fresh });
      killed.push(...fresh);
    }
    let living = holders.filter(isAlive);
    for (let pollMs = 1; living.length > 0 && performance.now() < deadline; pollMs = Math.min(pollMs * 2, 50)) {
      await delay(pollMs);
      living = living.filter(isAlive);
    }
    if (living.length > 0) {
      log.log('error', 'stale-writers', `processes ${living.join(', ')} still hold the shared memory after SIGKILL; they may still write it`, { pids: living });
      return { killed, living };
    }
  }
}

/** What a host's store offers for the mark of a clean end (src/store clean-end.ts). */
export interface CleanEndMark {
  takeCleanEnd(): Promise<boolean>;
  markCleanEnd(): Promise<void>;
}

/**
 * Before the host's first child: takes the mark of the last host's clean
 * end and, only when there was none (that host was killed or crashed, or
 * left a writer that would not die; or the directory predates the mark),
 * ends the writers a predecessor may have left. After a clean end there
 * are none, and the search costs more the more processes the machine runs.
 * @throws StoreError when the mark cannot be deleted.
 */
export async function endStaleWritersAtStart(name: string, log: Logger, store: CleanEndMark): Promise<void> {
  if (!(await store.takeCleanEnd())) await endStaleWriters(name, log, 'start');
}

/**
 * At the host's end: ends whatever still holds its shared memory and, when
 * nothing does any more, marks the end clean. A mark it cannot write is
 * logged: the next start then searches in vain, which is slower, never wrong.
 */
export async function endStaleWritersAtEnd(name: string, log: Logger, store: CleanEndMark): Promise<void> {
  if ((await endStaleWriters(name, log, 'end')).living.length > 0) return;
  try {
    await store.markCleanEnd();
  } catch (err) {
    log.log('warn', 'marker', `${(err as Error).message}: the next start will look for leftover writers`);
  }
}
