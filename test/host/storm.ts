// Kill storm: the counter under a host capturing every 50 ms, SIGKILLed at
// random moments; every restart resumes at or after the last value it
// logged as committed, and the whole log never goes back.
import t from 'tap';
import { fixture, lastLogged, loggedValues, nthMatch, scratch } from './harness.js';

const KILLS = Number(process.env.SHM_HOST_STORM_KILLS ?? 30);

t.test(`kill storm: ${KILLS} SIGKILLs of the counter, nothing committed lost`, async (t) => {
  const work = scratch(t);
  const dir = work.dir;
  const log = `${dir}/committed.log`;
  const host = work.start(['--dir', `${dir}/state`, '--interval', '50ms', '--size', '256K', '--restart-delay', '0ms', '--max-restarts', '1000',
    '--', process.execPath, fixture('counter.js'), '--rate', '2000', '--log', log]);
  for (let kill = 1; kill <= KILLS; kill++) {
    await nthMatch(host.stdout, /resumed at (\d+)/, kill);
    const pid = Number((await nthMatch(host.stderr, /started child (\d+)/, kill))[1]);
    // A random moment: 10-80 ms into the child's run.
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 70));
    process.kill(pid, 'SIGKILL');
    const logged = lastLogged(log);
    const resumed = Number((await nthMatch(host.stdout, /resumed at (\d+)/, kill + 1))[1]);
    if (logged !== null && resumed < logged) t.fail(`kill ${kill}: logged ${logged} as committed, resumed at ${resumed}`);
  }
  t.pass(`${KILLS} kills survived`);
  const values = loggedValues(log);
  t.ok(values.length > KILLS, 'the counter made progress');
  const back = values.findIndex((v, i) => i > 0 && v <= values[i - 1]!);
  t.equal(back, -1, back < 0 ? 'the logged values only ever rise' : `value ${values[back]} after ${values[back - 1]}`);
});
