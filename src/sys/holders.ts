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
    // Each line ends with the mapped path (the name holds no newline). Searched
    // as bytes: /proc holds hundreds of KiB of maps, which decoding and
    // splitting into lines took most of the scan's time (docs/BENCHMARKS.md).
    return readFileSync(`/proc/${pid}/maps`).includes(` ${target}\n`, 0, 'latin1');
  } catch {
    return false;
  }
}

/**
 * The program `pid` runs, for log lines: the file name of its argv[0]
 * (/proc/PID/cmdline), else its /proc/PID/comm (which Node 24 sets to its
 * thread's name, `MainThread`), or `?` once it is gone (proc(5)).
 */
export function commandName(pid: number): string {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '';
    const name = argv0.slice(argv0.lastIndexOf('/') + 1);
    if (name !== '') return name;
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '?';
  }
}
