// Kill storm at a constant 10 ms restart delay (--restart-max-delay equal to
// --restart-delay): every restart resumes at or after the last record the
// child logged as committed, no record is torn, and the host gives up only
// once --max-restarts is used up. 300 kills here; `npm run storm:host` runs
// 3000 (SHM_HOST_CONSTANT_STORM_KILLS).
import t from 'tap';
import { lastLogged } from '../../fixtures/lib/commit-log.js';
import { fileURLToPath } from 'node:url';
import { imageOf, recordsInImage, scratch } from './harness.js';

/** The records writer of the interop test (the record codec of fixtures/lib/record-codec.js): a Python start costs a fraction of Node's, so a kill costs little more than the restart itself. */
const WRITER = fileURLToPath(new URL('../interop/shm_records.py', import.meta.url));
const CONSTANT_KILLS = Number(process.env.SHM_HOST_CONSTANT_STORM_KILLS ?? 300);

t.test(`kill storm at a constant 10 ms delay: ${CONSTANT_KILLS} SIGKILLs, nothing lost, no give-up before --max-restarts`, async (t) => {
  const work = scratch(t);
  const dir = work.dir;
  const log = `${dir}/records.log`;
  const host = work.start(['--dir', `${dir}/state`, '--interval', '50ms', '--size', '1M', '--restart-delay', '10ms', '--restart-max-delay', '10ms',
    '--max-restarts', String(CONSTANT_KILLS), '--restart-window', '1h', '--keep', '3',
    '--', 'python3', WRITER, 'write', '--count', '0', '--rate', '2000', '--log', log]);
  // Waits are event-driven (no polling): a quiet machine does a kill in about one bare start of the child.
  let outFrom = 0;
  let errFrom = 0;
  const next = async (log: typeof host.stdout, re: RegExp, from: number): Promise<[RegExpMatchArray, number]> => {
    const m = await log.waitFor(re, 30_000, from);
    return [m, log.lines.lastIndexOf(m.input!) + 1];
  };
  let lost = 0;
  let resumed = -1;
  for (let kill = 1; kill <= CONSTANT_KILLS + 1; kill++) {
    // The child decodes its latest record when it resumes: a torn one makes it fail instead.
    if (resumed < 0) [, outFrom] = await next(host.stdout, /python: resumed at (\d+)/, outFrom);
    const [started, errAfter] = await next(host.stderr, /started child (\d+)/, errFrom);
    errFrom = errAfter;
    await new Promise((r) => setTimeout(r, Math.random() * 20));
    process.kill(Number(started[1]), 'SIGKILL');
    if (kill > CONSTANT_KILLS) break;
    const logged = lastLogged(log) ?? 0;
    const [m, outAfter] = await next(host.stdout, /python: resumed at (\d+)/, outFrom);
    outFrom = outAfter;
    resumed = Number(m[1]);
    if (resumed < logged) {
      lost += 1;
      t.fail(`kill ${kill}: index ${logged} was logged as committed, the child resumed at ${resumed}`);
    }
    const [restart] = await next(host.stderr, /restarting the child \(restart (\d+)\) in (\d+) ms/, errFrom);
    if (restart[1] !== String(kill) || restart[2] !== '10') t.fail(`restart ${restart[1]} (kill ${kill}) waited ${restart[2]} ms, not the constant 10 ms`);
  }
  t.equal(lost, 0, `${CONSTANT_KILLS} restarts, each resumed at or after the last logged record`);
  t.match(await host.exited, { code: 137 }, 'one kill beyond --max-restarts: the host gives up with the child\'s status');
  t.match(host.stderr.lines.join('\n'), new RegExp(`giving up: the child was restarted ${CONSTANT_KILLS} times within 3600s`));
  t.equal(host.stderr.lines.filter((l) => /giving up/.test(l)).length, 1, 'and not before');
  // The newest generation (the last post-mortem capture): every record intact and consecutive.
  const sequence = host.stderr.lines.map((l) => /captured generation (\d+) \(post-mortem\)/.exec(l)?.[1]).filter((x) => x !== undefined).at(-1);
  const { indexes } = recordsInImage((m) => t.fail(m), await imageOf(`${dir}/state`, sequence));
  t.ok(indexes.length > 0, `${indexes.length} records intact in the last generation`);
  t.equal(indexes.findIndex((v, i) => i > 0 && v !== indexes[i - 1]! + 1), -1, 'consecutive');
});
