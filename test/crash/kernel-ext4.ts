// The crash scenarios on a real kernel: ext4 in a loop-mounted file, a fresh
// file system each round, written by the real store code in a child process
// (fixtures/store-generation-loop.js: the first captures into a directory
// it creates with its parents, then full and delta generations with
// retention) that is
// SIGKILLed at a random moment. Each round is then checked twice, as the
// next host would open it (lib/next-host.ts):
//  - after the kill: the file system as the kernel holds it (page cache
//    included), which is all a process crash can leave;
//  - after a power cut, emulated: a copy of the loop device's backing file
//    taken right after the kill, while no block write was in flight nor
//    completed during the copy, mounted (ext4 replays its journal). It holds
//    what ext4 had sent to the device, nothing of what sat in the page
//    cache. It cannot show the device itself losing or reordering writes
//    (a disk's volatile cache), nor power lost at an instant the kill cannot
//    reach (mid-system-call); see docs/RELIABILITY.md.
// CRASH_KERNEL_ROUNDS sets the rounds (npm run test:crash runs more).
import t from 'tap';
import { spawn } from 'node:child_process';
import {
  closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv } from '../../fixtures/lib/shared-child.js';
import { fixture } from '../store/helpers.js';
import { liveImage } from './lib/live-image.js';
import { copyAtRest, kernelSkipReason, makeExt4, mountImage } from './lib/loop-ext4.js';
import { seeded } from './lib/model.js';
import { checkAsNextHost } from './lib/next-host.js';

const ROUNDS = Number(process.env.CRASH_KERNEL_ROUNDS ?? 12);
const KEEP = 2; // the fixture's
const skip = kernelSkipReason();

/** Starts the writer on `dir`, kills it `ms` after its first commit (or, when `early`, `ms` after its start); returns the last sequence it reported committed. */
async function killWriter(dir: string, ms: number, early: boolean): Promise<number | null> {
  const child = spawn('sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, fixture('store-generation-loop.js'), dir], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
  let out = '';
  let err = '';
  const closed = new Promise<string | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  const first = new Promise<void>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve();
    });
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  if (!early) await Promise.race([first, closed]);
  await new Promise((resolve) => setTimeout(resolve, ms));
  child.kill('SIGKILL');
  if ((await closed) !== 'SIGKILL') throw new Error(`the writer ended by itself: ${err}`);
  const lines = out.split('\n').filter((l) => /^committed \d+$/.test(l));
  return lines.length === 0 ? null : Number(lines[lines.length - 1]!.split(' ')[1]);
}

/** A work directory with a pristine ext4 image and a mount point, removed (unmounted first) after the test. */
function ext4Workspace(t: { teardown(fn: () => void): void }): { work: string; mnt: string; pristine: string; cleanups: Array<() => void> } {
  const work = mkdtempSync(join(tmpdir(), 'shm-host-ext4-'));
  const mnt = join(work, 'mnt');
  mkdirSync(mnt);
  const cleanups: Array<() => void> = [];
  t.teardown(() => {
    for (const c of cleanups.reverse()) {
      try {
        c();
      } catch {
        // Already unmounted.
      }
    }
    rmSync(work, { recursive: true, force: true });
  });
  const pristine = join(work, 'pristine.img');
  makeExt4(pristine);
  return { work, mnt, pristine, cleanups };
}

t.test('the emulated power cut keeps what was fsynced and drops what was not', { skip: skip ?? false }, async (t) => {
  const { work, mnt, pristine, cleanups } = ext4Workspace(t);
  const image = join(work, 'fs.img');
  const cut = join(work, 'cut.img');
  copyFileSync(pristine, image);
  let mounted = mountImage(image, mnt);
  cleanups.push(() => mounted.unmount());
  const fd = openSync(join(mnt, 'synced'), 'w');
  writeSync(fd, 'kept');
  fsyncSync(fd);
  closeSync(fd);
  const dirFd = openSync(mnt, 'r');
  fsyncSync(dirFd);
  closeSync(dirFd);
  writeFileSync(join(mnt, 'unsynced'), 'lost');
  t.ok(copyAtRest(mounted, image, cut), 'the device came to rest');
  mounted.unmount();
  mounted = mountImage(cut, mnt);
  t.equal(readFileSync(join(mnt, 'synced'), 'utf8'), 'kept', 'the fsynced file is there after the cut');
  t.notOk(existsSync(join(mnt, 'unsynced')) && readFileSync(join(mnt, 'unsynced'), 'utf8') === 'lost', 'the file never synced is not (it was only in the page cache)');
  mounted.unmount();
});

t.test(`ext4 on a loop device: ${ROUNDS} writers killed at random, each checked after the kill and after an emulated power cut`, { skip: skip ?? false }, async (t) => {
  const { work, mnt, pristine, cleanups } = ext4Workspace(t);
  const live = liveImage();
  t.teardown(() => live.close());
  const random = seeded(0x5eed);
  const dir = join(mnt, 'var', 'lib', 'state');
  let committedRounds = 0;
  let cutDiffered = 0;
  const problems: string[] = [];
  const listing = (): string => (existsSync(dir) ? readdirSync(dir).sort().map((n) => `${n}:${statSync(join(dir, n)).size}`).join(' ') : '(none)');
  for (let round = 0; round < ROUNDS; round++) {
    const early = random() < 0.2;
    const ms = Math.floor(random() * (early ? 400 : 60));
    // A fresh file system each round, in new files: nothing dirty from an
    // earlier round can be flushed meanwhile, and a file system that lives
    // on after its umount (a mount namespace another process made while it
    // was mounted keeps it, as seen on this shared machine) never shares
    // its file with a new one.
    const image = join(work, `fs-${round}.img`);
    const cut = join(work, `cut-${round}.img`);
    copyFileSync(pristine, image);
    let mounted = mountImage(image, mnt);
    cleanups.push(() => mounted.unmount());
    let acked: number | null;
    try {
      acked = await killWriter(dir, ms, early);
    } catch (err) {
      problems.push(`round ${round}: ${err instanceof Error ? err.message : String(err)}`);
      mounted.unmount();
      break;
    }
    if (acked !== null) committedRounds += 1;
    if (!copyAtRest(mounted, image, cut)) problems.push(`round ${round}: the device never came to rest for a copy`);
    const label = `round ${round} (${early ? 'early ' : ''}kill at ${ms} ms, acknowledged ${acked ?? 'nothing'})`;
    // After the kill: what the kernel holds.
    const killed = listing();
    const afterKill = await checkAsNextHost(dir, { acked, images: null, keep: KEEP, live });
    problems.push(...afterKill.map((p) => `${label}, after the kill: ${p}`));
    mounted.unmount();
    // After the power cut: what the device held.
    mounted = mountImage(cut, mnt);
    if (listing() !== killed) cutDiffered += 1;
    const afterCut = await checkAsNextHost(dir, { acked, images: null, keep: KEEP, live });
    problems.push(...afterCut.map((p) => `${label}, after the power cut: ${p}`));
    mounted.unmount();
    rmSync(image);
    rmSync(cut);
    if (problems.length > 5) break;
  }
  t.comment(`${committedRounds} of ${ROUNDS} rounds committed at least one generation before the kill; in ${cutDiffered} the power cut left a different directory than the kill`);
  t.same(problems, [], 'every round opens, restores what was acknowledged or newer, verified, and captures again');
  t.ok(committedRounds > 0, 'some rounds got to commit generations');
});
