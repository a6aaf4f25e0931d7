// Crashes during writes: a helper writes generations in a loop and is
// SIGKILLed at random moments, 200 times. After each kill, reopening the
// store must find a newest generation that verifies, never older than the
// last one the helper saw committed nor than the one found before, and no
// temporary file may survive the reopen.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv } from '../../fixtures/lib/shared-child.js';
import { SnapshotStore, TEMP_PREFIX, parseGenerationFileName } from '../../src/store/index.js';
import { fixture, scratchDir } from './helpers.js';

const ROUNDS = 200;
const CHAINS = 4; // four directories killed in parallel: a round is mostly process start-up

interface RoundOutcome {
  lastCommitted: number | null;
  debris: number;
}

/** Starts the helper, kills it at a random moment, waits for it to be gone. */
async function crashOnce(dir: string, random: () => number): Promise<{ lastCommitted: number | null }> {
  // Through sh, which drops NODE_OPTIONS: the test runner re-adds its
  // loader hooks to every child it sees spawned, and they would triple the
  // start-up time of the 200 helpers.
  const child = spawn('sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, fixture('store-generation-loop.js'), dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(),
  });
  let out = '';
  let err = '';
  let firstCommit: (() => void) | null = null;
  const committed = new Promise<void>((resolve) => { firstCommit = resolve; });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (out.includes('\n')) firstCommit?.();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const closed = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  // A quarter of the kills land anywhere from start-up on (during open and
  // its sweep too); the rest land a random moment into the write loop.
  if (random() < 0.25) {
    await delay(random() * 250);
  } else {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), 30_000); });
    const started = await Promise.race([committed.then(() => true), closed.then(() => true), deadline]);
    clearTimeout(timer);
    if (!started) {
      child.kill('SIGKILL');
      throw new Error(`the helper wrote no generation within 30 s: ${err}`);
    }
    await delay(random() * 25);
  }
  child.kill('SIGKILL');
  const end = await closed;
  if (end.signal !== 'SIGKILL') throw new Error(`the helper ended by itself (${end.code}): ${err}`);
  const lines = out.split('\n').filter((l) => /^committed \d+$/.test(l));
  const last = lines.length === 0 ? null : Number(lines[lines.length - 1]!.split(' ')[1]);
  return { lastCommitted: last };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Reopens after a kill and checks the store; returns how much debris the kill left. */
async function reopenAndCheck(t: Tap, dir: string, state: { newest: number; everCommitted: number | null }, lastCommitted: number | null): Promise<RoundOutcome> {
  // A kill during start-up may come before the helper created the directory.
  const debris = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(TEMP_PREFIX)).length : 0;
  const store = await SnapshotStore.open(dir, { keep: 2 });
  try {
    const left = readdirSync(dir);
    const found = await store.newestVerified();
    const problems: string[] = [];
    if (left.some((n) => n.startsWith(TEMP_PREFIX))) problems.push(`temporary files survived the reopen: ${left.join(' ')}`);
    const images = new Set(left.map(parseGenerationFileName).filter((p) => p?.kind === 'image').map((p) => p!.sequence));
    const manifests = new Set(left.map(parseGenerationFileName).filter((p) => p?.kind === 'manifest').map((p) => p!.sequence));
    for (const s of images) if (!manifests.has(s)) problems.push(`image ${s} without a manifest survived the reopen`);
    if (found.skipped.length > 0) problems.push(`damaged generations: ${JSON.stringify(found.skipped)}`);
    const everCommitted = lastCommitted ?? state.everCommitted;
    const newest = found.generation?.sequence ?? 0;
    if (everCommitted !== null && found.generation === null) problems.push('no generation verifies although one was committed');
    if (lastCommitted !== null && newest < lastCommitted) problems.push(`newest generation ${newest} is older than the last committed one, ${lastCommitted}`);
    if (newest < state.newest) problems.push(`newest generation went backwards: ${state.newest} -> ${newest}`);
    for (const g of await store.list()) {
      if (!g.ok) problems.push(`generation ${g.sequence}: ${g.reason}`);
      else {
        const v = await store.verify(g);
        if (!v.ok) problems.push(`generation ${g.sequence}: ${v.reason}`);
      }
    }
    if (problems.length > 0) t.fail(problems.join('; '));
    state.newest = Math.max(state.newest, newest);
    state.everCommitted = everCommitted;
    return { lastCommitted, debris };
  } finally {
    await store.close();
  }
}

type Tap = { fail(message: string): void };

t.test(`${ROUNDS} SIGKILLs at random moments of a write loop lose no committed generation`, async (t) => {
  let seed = 0x2545f491;
  const random = (): number => {
    // xorshift32: a reproducible sequence (the seed is printed on failure)
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  t.comment(`kill timing seed 0x2545f491`);
  const base = scratchDir(t, 'crash');
  let debrisRounds = 0;
  let committedRounds = 0;
  const failuresBefore = t.counts.fail;
  await Promise.all(Array.from({ length: CHAINS }, async (_, chain) => {
    const dir = join(base, `chain-${chain}`);
    const state = { newest: 0, everCommitted: null as number | null };
    for (let round = 0; round < ROUNDS / CHAINS; round++) {
      const { lastCommitted } = await crashOnce(dir, random);
      const outcome = await reopenAndCheck(t, dir, state, lastCommitted);
      if (outcome.debris > 0) debrisRounds += 1;
      if (lastCommitted !== null) committedRounds += 1;
      if (t.counts.fail > failuresBefore) return;
    }
  }));
  t.comment(`${debrisRounds} kills left temporary files to sweep; ${committedRounds} rounds committed at least one generation`);
  t.equal(t.counts.fail, failuresBefore, 'every reopen found a consistent store');
  t.ok(debrisRounds > 0, 'some kills landed in the middle of a write');
  t.ok(committedRounds > ROUNDS / 4, 'most rounds got to write generations');
});
