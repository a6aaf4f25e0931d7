// A snapshot directory that fills up or turns read-only under a running
// host: the child keeps running, a killed child comes back with its state
// (carried over from its old memory), and captures resume once the
// directory is writable again.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAlive } from '../../src/sys/index.js';
import { fill, fixture, lastLogged, mountTmpfs, nthMatch, storedSequences, until, scratch } from './harness.js';

for (const trouble of ['full', 'read-only'] as const) {
  t.test(`snapshot directory ${trouble} while the child runs and is killed`, async (t) => {
    // A fresh directory of its own: a mount left by a crashed run elsewhere cannot get in the way.
    const mnt = mkdtempSync(`${tmpdir()}/shm-host-disk-`);
    const refused = mountTmpfs(mnt, '2m');
    t.teardown(() => {
      // Registered before scratch(t): tap runs teardowns last first, so the hosts stop before this.
      if (!refused) execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });
    const work = scratch(t);
    if (refused) {
      t.skip(refused);
      return;
    }
    const state = `${mnt}/state`;
    const log = `${work.dir}/committed.log`;
    const host = work.start(['--dir', state, '--interval', '50ms', '--size', '128K', '--keep', '2', '--restart-delay', '1ms',
      '--', process.execPath, fixture('counter.js'), '--rate', '1000', '--log', log]);
    await host.stdout.waitFor(/resumed at/, 20_000);
    await until('a first durable generation', async () => (await storedSequences(state)).length > 0);

    if (trouble === 'full') fill(`${mnt}/filler`);
    // A remount to read-only fails (EBUSY) while an interval capture holds its pending image open for writing: retry.
    else await until('the remount to read-only', () => { try { execFileSync('mount', ['-o', 'remount,ro', mnt], { stdio: 'pipe' }); return true; } catch { return false; } });
    await host.stderr.waitFor(/interval capture failed: .*(ENOSPC|EROFS|no space|read-only)/i, 10_000);
    const pid = Number((await nthMatch(host.stderr, /started child (\d+)/, 1))[1]);
    t.ok(isAlive(pid), 'the child keeps running while captures fail');
    const before = lastLogged(log)!;
    await until('the child to keep committing', () => lastLogged(log)! > before + 10);

    process.kill(pid, 'SIGKILL');
    const logged = lastLogged(log)!;
    await host.stderr.waitFor(/post-mortem capture failed: .*(ENOSPC|EROFS|no space|read-only)/i, 10_000);
    const resumed = Number((await nthMatch(host.stdout, /resumed at (\d+)/, 2))[1]);
    t.ok(resumed >= logged, `resumed at ${resumed}, at or after the last committed value ${logged}`);

    const newest = Math.max(...(await storedSequences(state)));
    if (trouble === 'full') {
      for (const f of readdirSync(mnt)) if (f.startsWith('filler.')) rmSync(`${mnt}/${f}`);
    } else {
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
    }
    await until('captures to resume once the directory is writable', async () => {
      const now = await storedSequences(state);
      return Math.max(...now) > newest;
    }, 15_000);
    t.pass('a new generation was stored after recovery');
  });
}
