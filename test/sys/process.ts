// Process bookkeeping with real processes: zombies counting as dead, the
// living members of a group, the child subreaper and reaping a process
// group with waitid, the parent-death signal. The subreaper and pdeathsig
// parts run in a child Node process so that this test process keeps its
// own settings.
import t from 'tap';
import { spawn } from 'node:child_process';
import { isAlive, livingGroupMembers, processState, setParentDeathSignal } from '../../src/sys/index.js';
import { spawnShared, waitFor } from '../../fixtures/lib/shared-child.js';

const sys = new URL('../../dist/sys/index.js', import.meta.url).href;
const noListen = { LISTEN_PID: undefined, LISTEN_FDS: undefined, LISTEN_FDNAMES: undefined };

/** Runs an ES module in a fresh Node process (on the compiled dist/) and returns its stdout as JSON. */
async function runModule(source: string): Promise<Record<string, unknown>> {
  const result = await spawnShared(process.execPath, ['--input-type=module', '-e', source], { fd: null, listen: noListen }).exited;
  if (result.code !== 0) throw new Error(`child failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

t.test('processState, isAlive and livingGroupMembers: running, zombie, gone', async (t) => {
  t.equal(processState(process.pid), 'R', 'this process is running');
  t.equal(isAlive(process.pid), true);
  t.equal(processState(2 ** 22 + 1), null, 'a pid beyond pid_max does not exist');
  t.equal(isAlive(2 ** 22 + 1), false);
  // In its own process group: a parent that forks a child which exits at
  // once, and never waits for it: a zombie while the parent lives. (A shell
  // could reap it itself before exec'ing into something that never waits.)
  const parent = 'import os, sys, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)';
  const sh = spawn('python3', ['-c', parent], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  t.teardown(() => sh.kill('SIGKILL'));
  const zombie = Number(await new Promise<string>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
  await waitFor('the zombie', () => processState(zombie) === 'Z');
  t.equal(isAlive(zombie), false, 'a zombie cannot run: it counts as dead');
  t.equal(isAlive(sh.pid!), true);
  t.same(livingGroupMembers(sh.pid!), [sh.pid], 'the zombie is not a living member of its group');
  sh.kill('SIGKILL');
  await waitFor('the group to die', () => livingGroupMembers(sh.pid!).length === 0);
  t.pass('a killed group has no living members');
});

t.test('a subreaper inherits orphaned grandchildren and reapGroup reaps them', async (t) => {
  const result = await runModule(`
    import { spawn } from 'node:child_process';
    import { readFileSync } from 'node:fs';
    import { setChildSubreaper, reapGroup, processState, isAlive, livingGroupMembers } from ${JSON.stringify(sys)};
    const ppidOf = (pid) => { const s = readFileSync('/proc/' + pid + '/stat', 'latin1'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]); };
    const until = async (f) => { const end = Date.now() + 10000; while (!f()) { if (Date.now() > end) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 2)); } };
    setChildSubreaper();
    // sh starts sleep in the background in sh's own group, then exits: sleep is orphaned.
    const sh = spawn('sh', ['-c', 'sleep 30 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const pgid = sh.pid;
    const grandchild = Number(await new Promise((r) => sh.stdout.once('data', (d) => r(String(d)))));
    await new Promise((r) => sh.on('exit', r));
    await until(() => ppidOf(grandchild) === process.pid);
    const out = { adopted: true, members: livingGroupMembers(pgid).length === 1 && livingGroupMembers(pgid)[0] === grandchild };
    out.reapedWhileRunning = reapGroup(pgid);
    process.kill(grandchild, 'SIGKILL');
    await until(() => processState(grandchild) === 'Z');
    out.zombieAlive = isAlive(grandchild);
    out.reaped = reapGroup(pgid);
    out.stateAfter = processState(grandchild);
    out.reapedAgain = reapGroup(pgid);
    console.log(JSON.stringify(out));
  `);
  t.same(result, {
    adopted: true, members: true, reapedWhileRunning: 0, zombieAlive: false, reaped: 1, stateAfter: null, reapedAgain: 0,
  });
});

t.test('the parent-death signal kills a child whose parent dies', async (t) => {
  // sh (the parent) starts node, which asks for SIGKILL when its parent dies
  // and then waits; we SIGKILL sh and the node process must die with it.
  const child = `import { setParentDeathSignal } from ${JSON.stringify(sys)}; setParentDeathSignal(9); console.log(process.pid); setInterval(() => {}, 1000);`;
  const sh = spawn('sh', ['-c', `unset NODE_OPTIONS; "$0" --input-type=module -e '${child}' & wait`, process.execPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = Number(await new Promise<string>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
  t.teardown(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
  t.equal(isAlive(pid), true);
  sh.kill('SIGKILL');
  await waitFor('the orphan to die', () => !isAlive(pid));
  t.pass('it died with its parent');
  t.throws(() => setParentDeathSignal(1000), { name: 'SysError', code: 'EINVAL', syscall: 'prctl(PR_SET_PDEATHSIG)' });
});
