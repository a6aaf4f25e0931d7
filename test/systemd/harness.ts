// A private systemd user manager for tests, started without booting systemd
// (as root: /run/systemd/system exists, a private XDG_RUNTIME_DIR, then
// `/lib/systemd/systemd --user`), and torn down leaving nothing running.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Test } from 'tap';
import { isAlive, tryLockExclusive } from '../../src/sys/index.js';
import { until } from '../host/harness.js';

export const SYSTEMD = '/lib/systemd/systemd';

/** Why the real-systemd tests cannot run here, or null when they can. */
export function systemdSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to start a private systemd user manager (run the tests as root, as CI does)';
  for (const tool of [SYSTEMD, '/usr/bin/systemctl', '/usr/bin/systemd-run']) {
    try {
      accessSync(tool, constants.X_OK);
    } catch {
      return `systemd is not installed (${tool} is missing): apt-get install systemd`;
    }
  }
  return null;
}

export interface UserManager {
  /** The manager's private XDG_RUNTIME_DIR (its notify socket, bus and private socket live here). */
  readonly runtimeDir: string;
  /** The environment that makes systemctl/systemd-run --user talk to this manager. */
  readonly env: NodeJS.ProcessEnv;
  readonly pid: number;
  /** Runs `systemctl --user ARGS` against this manager; never rejects (check exitCode). */
  systemctl(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  /** Runs `systemd-run --user ARGS`; rejects when it fails, with its output. */
  run(...args: string[]): Promise<string>;
  /** A unit property (`systemctl --user show -p NAME --value`). */
  show(unit: string, property: string): Promise<string>;
  /**
   * Starts `command` as the transient service `unit` (see uniqueUnit) the
   * way the host is meant to run: Type=notify, Restart=on-failure,
   * RestartSec=100ms, FileDescriptorStoreMax=1, then `properties` (`-p`
   * each); resolves once it sent READY=1 (systemd-run waits for it). The
   * unit is stopped at the end of `t`.
   */
  startService(t: Test, unit: string, properties: string[], command: string[]): Promise<void>;
  /** Stops every unit and the manager, kills whatever survived, removes the runtime directory. */
  stop(): Promise<void>;
}

// Two private user managers running at once (tap runs test files in
// parallel) break each other: both move into the shared /init.scope and
// one's systemctl then fails with "Failed to connect to bus". A test file
// holds this lock for as long as its manager runs; the kernel drops it if
// the test dies.
const MANAGER_LOCK = '/run/shm-host-test-systemd.lock';
const MANAGER_LOCK_WAIT_MS = 10 * 60_000;

/** Waits (polling, up to 10 minutes) until no other test's user manager runs; returns the lock's fd. */
async function takeManagerLock(): Promise<number> {
  const fd = openSync(MANAGER_LOCK, 'a');
  try {
    await until('the other test\'s systemd user manager to stop', () => tryLockExclusive(fd), MANAGER_LOCK_WAIT_MS);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Starts a private user manager and waits until `systemctl --user` answers. */
export async function startUserManager(): Promise<UserManager> {
  const lock = await takeManagerLock();
  mkdirSync('/run/systemd/system', { recursive: true });
  const runtimeDir = mkdtempSync(join(tmpdir(), 'shm-host-systemd-'));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: runtimeDir, SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' };
  delete env.DBUS_SESSION_BUS_ADDRESS;
  delete env.NOTIFY_SOCKET;
  const log = openSync(join(runtimeDir, 'manager.log'), 'a');
  let manager: ChildProcess;
  try {
    manager = spawn(SYSTEMD, ['--user', '--log-target=console'], { env, detached: true, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  const pid = manager.pid!;
  const exited = new Promise<void>((resolve) => manager.once('exit', () => resolve()));
  const systemctl = async (...args: string[]) => {
    const r = await execa('systemctl', ['--user', '--no-pager', ...args], { env, extendEnv: false, reject: false });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
  };
  const self: UserManager = {
    runtimeDir, env, pid, systemctl,
    async run(...args) {
      const r = await execa('systemd-run', ['--user', ...args], { env, extendEnv: false, reject: false, all: true });
      if (r.exitCode !== 0) throw new Error(`systemd-run ${args.join(' ')} failed (${r.exitCode}):\n${String(r.all)}`);
      return String(r.all);
    },
    async show(unit, property) {
      return (await systemctl('show', unit, '-p', property, '--value')).stdout.trim();
    },
    async startService(t, unit, properties, command) {
      const notifyService = ['Type=notify', 'Restart=on-failure', 'RestartSec=100ms', 'FileDescriptorStoreMax=1', ...properties];
      t.teardown(() => systemctl('stop', unit));
      await self.run(`--unit=${unit}`, ...notifyService.flatMap((p) => ['-p', p]), ...command);
    },
    async stop() {
      await systemctl('exit');
      await Promise.race([exited, until('the user manager to exit', () => !isAlive(pid), 15_000).catch(() => undefined)]);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      // Anything the manager started and left behind still carries its runtime directory.
      for (const straggler of processesWith(`XDG_RUNTIME_DIR=${runtimeDir}`)) {
        try {
          process.kill(straggler, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
      try {
        await until('the manager and its services to be gone', () => !isAlive(pid) && processesWith(`XDG_RUNTIME_DIR=${runtimeDir}`).length === 0, 15_000);
        rmSync(runtimeDir, { recursive: true, force: true });
      } finally {
        closeSync(lock);
      }
    },
  };
  try {
    await until('systemctl --user to answer', async () => {
      if (!isAlive(pid)) throw new Error(`${SYSTEMD} --user exited at start:\n${readFileSync(join(runtimeDir, 'manager.log'), 'utf8').slice(-2000)}`);
      const state = (await systemctl('is-system-running')).stdout.trim();
      return state === 'running' || state === 'degraded';
    }, 30_000);
  } catch (err) {
    await self.stop();
    throw err;
  }
  return self;
}

/**
 * The user manager of the test file `t`: started now, stopped at the end of
 * `t`. Null where systemd cannot run here, after a skip that says why.
 */
export async function userManagerFor(t: Test): Promise<UserManager | null> {
  const skip = systemdSkipReason();
  if (skip !== null) {
    t.comment(`skipped: ${skip}`);
    t.pass(`real systemd tests skipped: ${skip}`, { skip });
    return null;
  }
  const manager = await startUserManager();
  t.teardown(() => manager.stop());
  return manager;
}

/** Pids of the living processes (zombies excluded) whose environment holds `assignment`. */
function processesWith(assignment: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(assignment) && isAlive(pid)) found.push(pid);
    } catch {
      // Gone, or a kernel thread.
    }
  }
  return found;
}

/** A unit name no other test (or engineer's manager on this machine) uses: they share one cgroup tree. */
export const uniqueUnit = (what: string): string => `shm-host-test-${what}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.service`;
