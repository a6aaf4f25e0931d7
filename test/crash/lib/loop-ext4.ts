// An ext4 file system in a file, loop-mounted (as root), and a copy of its
// block device as it stands at one instant: the disk a power cut would
// leave, as far as what ext4 had sent to the device (see docs/RELIABILITY.md).
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Why this machine cannot run the real-kernel test, or null. */
export function kernelSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'not root: loop mounts need root';
  for (const tool of ['mkfs.ext4', 'losetup', 'mount', 'umount']) {
    try {
      run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed`;
    }
  }
  try {
    run('losetup', ['-f']);
  } catch (err) {
    return `no free loop device (${(err as Error).message.split('\n')[0]})`;
  }
  if (!readFileSync('/proc/filesystems', 'utf8').includes('ext4')) return 'the kernel has no ext4';
  return null;
}

/**
 * A new ext4 image of `mib` MiB at `path`, its inode tables and journal
 * written now (no lazy init), so that a mounted copy is idle unless written.
 */
export function makeExt4(path: string, mib = 32): void {
  run('truncate', ['-s', `${mib}M`, path]);
  run('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', path]);
}

export interface Mounted {
  readonly device: string;
  /** Block writes the device has completed so far, and those in flight (/sys/block/loopN/stat, inflight). */
  writes(): { done: number; inFlight: number };
  unmount(): void;
}

/**
 * Mounts the image at `path` on `dir` through a new loop device. `commit`:
 * ext4's journal commit interval in seconds (long, so that nothing but the
 * writer's own fsyncs sends metadata to the device while a round runs).
 */
export function mountImage(path: string, dir: string, commit = 300): Mounted {
  // Never two file systems stacked on one mount point: the checks would read the wrong one.
  if (mountedOn(dir)) throw new Error(`${dir} is a mount point already`);
  const device = run('losetup', ['-f', '--show', path]);
  try {
    run('mount', ['-t', 'ext4', '-o', `commit=${commit}`, device, dir]);
  } catch (err) {
    run('losetup', ['-d', device]);
    throw err;
  }
  const name = basename(device);
  let mounted = true;
  return {
    device,
    writes() {
      const stat = readFileSync(`/sys/block/${name}/stat`, 'utf8').trim().split(/\s+/).map(Number);
      const inflight = readFileSync(`/sys/block/${name}/inflight`, 'utf8').trim().split(/\s+/).map(Number);
      return { done: stat[4]!, inFlight: inflight[1]! };
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      run('umount', [dir]);
      run('losetup', ['-d', device]);
      if (mountedOn(dir)) throw new Error(`${dir} is still a mount point after umount`);
    },
  };
}

/** Whether a file system is mounted on `dir`, as this process sees it (/proc/self/mountinfo, field 5). */
function mountedOn(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === dir);
}

/**
 * Copies the backing file of `mounted` (at `path`) to `to` while the device
 * is idle: no write in flight, and none completed during the copy (else it
 * tries again), so the copy holds exactly the writes the device had
 * completed at one instant. Returns whether it got such a copy.
 */
export function copyAtRest(mounted: Mounted, path: string, to: string, attempts = 50): boolean {
  for (let i = 0; i < attempts; i++) {
    const before = mounted.writes();
    if (before.inFlight !== 0) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // a 5 ms pause
      continue;
    }
    copyFileSync(path, to);
    const after = mounted.writes();
    if (after.done === before.done && after.inFlight === 0) return true;
  }
  return false;
}
