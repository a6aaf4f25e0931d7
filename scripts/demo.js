#!/usr/bin/env node
// The demo, and a check: runs the counter fixture under shm-host, SIGKILLs
// the child three times at random moments and shows it coming back at the
// last value it committed, then stops the host and shows a new host
// restoring it from disk. Exits 1 if any committed value was lost.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { lastLogged } from '../fixtures/lib/commit-log.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'shm-host-demo-'));
const stateDir = join(work, 'state');
const logFile = join(work, 'committed.log');
const KILLS = 3;
const RATE = 2000; // commits per second

const say = (line) => console.log(`demo: ${line}`);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a host running the counter; resolves values as the child announces where it resumed. */
function startHost() {
  const args = [join(root, 'bin/shm-host.js'), '--dir', stateDir, '--interval', '200ms', '--size', '8M', '--restart-delay', '50ms',
    '--', process.execPath, join(root, 'fixtures/counter.js'), '--rate', String(RATE), '--log', logFile];
  const host = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const resumes = [];
  const waiters = [];
  let childPid = null;
  createInterface({ input: host.stdout }).on('line', (line) => {
    const m = /resumed at (\d+)/.exec(line);
    if (!m) return;
    console.log(`  child | ${line}`);
    resumes.push(Number(m[1]));
    waiters.shift()?.(Number(m[1]));
  });
  createInterface({ input: host.stderr }).on('line', (line) => {
    console.log(`   host | ${line}`);
    const m = /started child (\d+)/.exec(line);
    if (m) childPid = Number(m[1]);
  });
  const exited = new Promise((resolve) => host.on('exit', (code, signal) => resolve({ code, signal })));
  const nextResume = (timeoutMs = 20_000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the child did not report where it resumed')), timeoutMs);
    waiters.push((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
  return { host, exited, nextResume, childPid: () => childPid };
}

function check(what, resumedAt, logged) {
  if (logged !== null && resumedAt < logged) {
    say(`LOST: ${what}: the child committed ${logged} but came back at ${resumedAt}`);
    return false;
  }
  say(`ok: ${what}: last committed value logged ${logged ?? 'none'}, resumed at ${resumedAt}`);
  return true;
}

async function main() {
  say(`state directory ${stateDir}`);
  let ok = true;
  let run = startHost();
  const first = await run.nextResume();
  say(`the counter started at ${first}`);
  for (let i = 1; i <= KILLS; i++) {
    await pause(400 + Math.random() * 800);
    const pid = run.childPid();
    const next = run.nextResume();
    process.kill(pid, 'SIGKILL');
    const logged = lastLogged(logFile);
    say(`kill ${i}/${KILLS}: SIGKILL child ${pid}`);
    ok = check(`after kill ${i}`, await next, logged) && ok;
  }

  await pause(500);
  say('stopping the host with SIGTERM');
  run.host.kill('SIGTERM');
  const stopped = await run.exited;
  const loggedAtStop = lastLogged(logFile);
  say(`the host exited with code ${stopped.code}`);

  say('starting a new host on the same directory');
  run = startHost();
  ok = check('after a host restart', await run.nextResume(), loggedAtStop) && ok;
  await pause(300);
  run.host.kill('SIGTERM');
  await run.exited;

  rmSync(work, { recursive: true, force: true });
  if (!ok) {
    say('FAILED: committed state was lost');
    process.exit(1);
  }
  say(`passed: ${KILLS} SIGKILLs and a host restart, nothing committed was lost`);
}

main().catch((err) => {
  say(`FAILED: ${err.message}`);
  process.exit(1);
});
