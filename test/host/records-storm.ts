// Kill storm with self-checking records of varying sizes: after every
// restart, every record in the restored memory is intact, the latest is at
// or after the last index the child logged, and the child resumed after it.
import t from 'tap';
import { lastLogged } from '../../fixtures/lib/commit-log.js';
import { fixture, imageOf, nthMatch, recordsInImage, scratch } from './harness.js';

const KILLS = Number(process.env.SHM_HOST_STORM_KILLS ?? 30);

t.test(`kill storm: ${KILLS} SIGKILLs of the records child, every record intact`, async (t) => {
  const work = scratch(t);
  const dir = work.dir;
  const log = `${dir}/records.log`;
  const host = work.start(['--dir', `${dir}/state`, '--interval', '50ms', '--size', '1M', '--restart-delay', '0ms', '--max-restarts', '1000',
    '--keep', '1000', '--', process.execPath, fixture('records.js'), '--rate', '3000', '--log', log]);
  let checked = 0;
  for (let kill = 1; kill <= KILLS; kill++) {
    await nthMatch(host.stdout, /records: resumed at (\d+)/, kill);
    const pid = Number((await nthMatch(host.stderr, /started child (\d+)/, kill))[1]);
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 70));
    process.kill(pid, 'SIGKILL');
    const logged = lastLogged(log) ?? 0;
    const resumed = Number((await nthMatch(host.stdout, /records: resumed at (\d+)/, kill + 1))[1]);
    if (resumed < logged) t.fail(`kill ${kill}: index ${logged} was logged as committed, the child resumed at ${resumed}`);
    // The post-mortem image of the memory the restarted child was given (its
    // live memory is being written again, so it is no place to look): the
    // same newest record as the carried-over copy.
    const carried = await nthMatch(host.stderr, /carried the child's memory over .*\(\d+ records, (?:latest record at offset (\d+)|no records)\)/, kill);
    const sequence = Number((await nthMatch(host.stderr, /captured generation (\d+) \(post-mortem\)/, kill))[1]);
    const { indexes, latestOffset } = recordsInImage((m) => t.fail(`kill ${kill}: ${m}`), await imageOf(`${dir}/state`, sequence));
    t.equal(String(latestOffset ?? 'none'), carried[1] ?? 'none', `kill ${kill}: the image and the carried-over memory end at the same record`);
    checked += indexes.length;
    const behind = indexes.findIndex((v, i) => i > 0 && v !== indexes[i - 1]! + 1);
    if (behind >= 0) t.fail(`kill ${kill}: record indexes are not consecutive at ${indexes[behind]}`);
    if (indexes.length > 0 && indexes.at(-1)! < resumed) t.fail(`kill ${kill}: the newest record ${indexes.at(-1)} is older than the resume point ${resumed}`);
  }
  t.ok(checked > KILLS, `${checked} records checked intact across ${KILLS} restarts`);
});
