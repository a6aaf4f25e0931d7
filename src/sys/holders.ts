// Which processes hold a memory file, found by its name through /proc.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * Pids of the processes (other than this one) that hold an open descriptor
 * to, or a mapping of, a memory file created by memfd_create(`name`): its
 * /proc/PID/fd link and /proc/PID/maps path read `/memfd:NAME (deleted)`
 * (proc(5), memfd_create(2)). Processes whose /proc entries this process
 * may not read (another user's, without CAP_SYS_PTRACE) are not seen.
 */
export function memfdHolders(name: string): number[] {
  const target = `/memfd:${name} (deleted)`;
  const holders: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (holdsByFd(pid, target) || mapsPath(pid, target)) holders.push(pid);
  }
  return holders;
}

function holdsByFd(pid: number, target: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return true;
    } catch {
      // Closed meanwhile.
    }
  }
  return false;
}

function mapsPath(pid: number, target: string): boolean {
  try {
    // Each line ends with the mapped path; the name holds no newline.
    return readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n').some((line) => line.endsWith(` ${target}`));
  } catch {
    return false;
  }
}

/** The command name of `pid` (/proc/PID/comm), or `?` once it is gone. */
export function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '?';
  }
}
