import { readFileSync, readdirSync } from 'node:fs';
import { c, errno } from './libc.js';
import { SysError, check } from './errors.js';

const PR_SET_CHILD_SUBREAPER = 36;
const PR_SET_PDEATHSIG = 1;

/**
 * Makes this process the reaper of its orphaned descendants, so that the
 * grandchildren of a dead child are reparented here and can be waited for.
 */
export function setChildSubreaper(): void {
  check('prctl(PR_SET_CHILD_SUBREAPER)', c.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) as number, errno());
}

/** Asks the kernel to send `signal` to this process when its parent thread dies. */
export function setParentDeathSignal(signal: number): void {
  check('prctl(PR_SET_PDEATHSIG)', c.prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0) as number, errno());
}

const P_PGID = 2;
const WEXITED = 4;
const WNOHANG = 1;
const ECHILD = 10;
const SIGINFO_SIZE = 128;
const SI_PID_OFFSET = 16;

/**
 * Reaps every exited child of this process in process group `pgid` without
 * blocking. Returns how many it reaped. Only call it once the group leader's
 * own exit was seen, or it could steal the status Node waits for.
 */
export function reapGroup(pgid: number): number {
  const info = Buffer.alloc(SIGINFO_SIZE);
  let reaped = 0;
  for (;;) {
    info.fill(0);
    const r = c.waitid(P_PGID, pgid, info, WEXITED | WNOHANG) as number;
    if (r !== 0) {
      const e = errno();
      if (e === ECHILD) return reaped;
      throw new SysError('waitid', e, `process group ${pgid}`);
    }
    if (info.readInt32LE(SI_PID_OFFSET) === 0) return reaped;
    reaped += 1;
  }
}

const P_PID = 1;

/**
 * Reaps `pid`, a child of this process, if it has exited (waitid(P_PID,
 * WEXITED|WNOHANG)). Returns whether it did. Never call it for a pid that
 * other code (libuv) waits for: that code would lose the exit status.
 */
export function reapChild(pid: number): boolean {
  const info = Buffer.alloc(SIGINFO_SIZE);
  const r = c.waitid(P_PID, pid, info, WEXITED | WNOHANG) as number;
  if (r !== 0) {
    const e = errno();
    if (e === ECHILD) return false;
    throw new SysError('waitid', e, `pid ${pid}`);
  }
  return info.readInt32LE(SI_PID_OFFSET) === pid;
}

/**
 * Pids of this process's children (proc(5): /proc/self/task/TID/children,
 * one list per thread). Orphans reparented to a child subreaper appear
 * here too.
 */
export function childPids(): number[] {
  const pids: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return pids;
  }
  for (const tid of tasks) {
    let list: string;
    try {
      list = readFileSync(`/proc/self/task/${tid}/children`, 'latin1');
    } catch {
      // A kernel without CONFIG_PROC_CHILDREN: every process's parent, from its stat.
      return processesWhere((fields) => Number(fields[1]) === process.pid);
    }
    for (const word of list.trim().split(' ')) if (word !== '') pids.push(Number(word));
  }
  return pids.filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** Pids whose /proc/PID/stat fields after the command name satisfy `test`. */
function processesWhere(test: (fields: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const fields = statFields(pid);
    if (fields !== null && test(fields)) pids.push(pid);
  }
  return pids;
}

/**
 * The fields of /proc/PID/stat after the command name ([0] state, [1] ppid,
 * [2] pgrp...; proc(5)), or null when the process is gone. The command
 * name may hold spaces and parentheses: fields start after the last ')'.
 */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** State letter from /proc/PID/stat (`R`, `S`, `Z`...), or null when the process is gone. */
export function processState(pid: number): string | null {
  return statFields(pid)?.[0] ?? null;
}

/** The process group of `pid` (/proc/PID/stat, zombies included), or null when it is gone. */
export function processGroupOf(pid: number): number | null {
  const pgrp = Number(statFields(pid)?.[2]);
  return Number.isInteger(pgrp) ? pgrp : null;
}

/** The parent of `pid` (/proc/PID/stat), or null when it is gone. */
export function parentOf(pid: number): number | null {
  const ppid = Number(statFields(pid)?.[1]);
  return Number.isInteger(ppid) ? ppid : null;
}

/**
 * This process's ancestors, its parent first, up to (and with) PID 1: the
 * shell or service manager that started it, which may hold its files
 * (systemd's file descriptor store) and must never be taken for a writer.
 */
export function ancestors(): number[] {
  const out: number[] = [];
  for (let pid = process.ppid; pid > 0 && !out.includes(pid); pid = parentOf(pid) ?? 0) out.push(pid);
  return out;
}

/** True while `pid` exists and is not a zombie: a zombie cannot run, so it counts as dead. */
export function isAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== null && state !== 'Z' && state !== 'X';
}

/** Pids of the processes in group `pgid` that can still run (zombies excluded). */
export function livingGroupMembers(pgid: number): number[] {
  // fields: [0] state, [1] ppid, [2] pgrp
  return processesWhere((fields) => Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X');
}
