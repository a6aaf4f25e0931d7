// Kill storm at a constant 10 ms restart delay (--restart-max-delay equal to
// --restart-delay): every restart resumes at or after the last record the
// child logged as committed, no record is torn, and the host gives up only
// once --max-restarts is used up. 300 kills here; `npm run storm:host` runs
// 3000 (SHM_HOST_CONSTANT_STORM_KILLS).
import t from 'tap';
import { lastLogged } from '../../fixtures/lib/commit-log.js';
import { fixture, nthMatch, scratch } from './harness.js';
import { recordsIn } from './helpers.js';

const CONSTANT_KILLS = Number(process.env.SHM_HOST_CONSTANT_STORM_KILLS ?? 300);
// A restart costs about a bare Node start: 0.3 s on a quiet machine, over 1 s on this busy shared one.
t.setTimeout(Math.max(300_000, CONSTANT_KILLS * 3000));

t.test(`kill storm at a constant 10 ms delay: ${CONSTANT_KILLS} SIGKILLs, nothing lost, no give-up before --max-restarts`, async (t) => {
  const work = scratch(t);
  const dir = work.dir;
  const log = `${dir}/records.log`;
  const host = work.start(['--dir', `${dir}/state`, '--interval', '50ms', '--size', '1M', '--restart-delay', '10ms', '--restart-max-delay', '10ms',
    '--max-restarts', String(CONSTANT_KILLS), '--restart-window', '1h', '--keep', '3',
    '--', process.execPath, fixture('records.js'), '--rate', '3000', '--log', log]);
  let lost = 0;
  for (let kill = 1; kill <= CONSTANT_KILLS + 1; kill++) {
    // The child decodes its latest record when it resumes: a torn one makes it fail instead.
    await nthMatch(host.stdout, /records: resumed at (\d+)/, kill, 30_000);
    const pid = Number((await nthMatch(host.stderr, /started child (\d+)/, kill))[1]);
    await new Promise((r) => setTimeout(r, Math.random() * 20));
    process.kill(pid, 'SIGKILL');
    if (kill > CONSTANT_KILLS) break;
    const logged = lastLogged(log) ?? 0;
    const resumed = Number((await nthMatch(host.stdout, /records: resumed at (\d+)/, kill + 1, 30_000))[1]);
    if (resumed < logged) {
      lost += 1;
      t.fail(`kill ${kill}: index ${logged} was logged as committed, the child resumed at ${resumed}`);
    }
    const restart = await nthMatch(host.stderr, /restarting the child \(restart (\d+)\) in (\d+) ms/, kill);
    if (restart[2] !== '10') t.fail(`restart ${restart[1]} waited ${restart[2]} ms, not the constant 10 ms`);
  }
  t.equal(lost, 0, `${CONSTANT_KILLS} restarts, each resumed at or after the last logged record`);
  t.match(await host.exited, { code: 137 }, 'one kill beyond --max-restarts: the host gives up with the child\'s status');
  t.match(host.stderr.lines.join('\n'), new RegExp(`giving up: the child was restarted ${CONSTANT_KILLS} times within 3600s`));
  t.equal(host.stderr.lines.filter((l) => /giving up/.test(l)).length, 1, 'and not before');
  // The newest generation (the last post-mortem capture): every record intact and consecutive.
  const sequence = Number((await nthMatch(host.stderr, /captured generation (\d+) \(post-mortem\)/, 1)).input ? host.stderr.lines.filter((l) => /captured generation \d+ \(post-mortem\)/.test(l)).at(-1)!.match(/generation (\d+)/)![1] : 0);
  const { indexes } = recordsIn(t, `${dir}/state/gen-${String(sequence).padStart(16, '0')}.img`);
  t.ok(indexes.length > 0, `${indexes.length} records intact in the last generation`);
  t.equal(indexes.findIndex((v, i) => i > 0 && v !== indexes[i - 1]! + 1), -1, 'consecutive');
});
