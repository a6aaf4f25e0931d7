// The restart policy as it decides today: the mode, a constant first delay
// that doubles after each quick failure up to the cap, back to the first
// delay after a stable run, and giving up after too many restarts within
// the window (which slides).
import t from 'tap';
import {
  MAX_RESTART_DELAY_MS, RestartPolicy, STABLE_AFTER_MS, restartPolicyOptions, type RestartPolicyOptions,
} from '../../src/host/index.js';

const crash = { code: null, signal: 'SIGKILL' as const, ranMs: 5 };
const clean = { code: 0, signal: null, ranMs: 5 };

const policy = (options: Partial<RestartPolicyOptions> = {}): RestartPolicy =>
  new RestartPolicy({ ...restartPolicyOptions({ mode: 'on-failure', maxRestarts: 100, windowMs: 60_000, initialDelayMs: 100 }), ...options });

t.test('the host\'s constants: doubling capped at 30 s, reset after a 10 s run', async (t) => {
  t.equal(MAX_RESTART_DELAY_MS, 30_000);
  t.equal(STABLE_AFTER_MS, 10_000);
  t.same(restartPolicyOptions({ mode: 'always', maxRestarts: 3, windowMs: 1000, initialDelayMs: 100 }),
    { mode: 'always', maxRestarts: 3, windowMs: 1000, initialDelayMs: 100, maxDelayMs: 30_000, stableAfterMs: 10_000 });
  t.equal(restartPolicyOptions({ mode: 'always', maxRestarts: 3, windowMs: 1000, initialDelayMs: 60_000 }).maxDelayMs, 60_000, 'a first delay above the cap is the cap');
});

t.test('maxDelayMs: given, it is the cap; equal to the first delay, the delay is constant', async (t) => {
  t.equal(restartPolicyOptions({ mode: 'always', maxRestarts: 3, windowMs: 1000, initialDelayMs: 10, maxDelayMs: 40 }).maxDelayMs, 40);
  const constant = policy({ initialDelayMs: 10, maxDelayMs: 10 });
  const delays = Array.from({ length: 50 }, (_, i) => {
    const d = constant.decide(crash, i);
    return d.restart ? d.delayMs : -1;
  });
  t.same(new Set(delays), new Set([10]), '50 quick failures in a row: 10 ms each time');
  const capped = policy({ initialDelayMs: 10, maxDelayMs: 40 });
  t.same([0, 1, 2, 3, 4].map((i) => {
    const d = capped.decide(crash, i);
    return d.restart ? d.delayMs : -1;
  }), [10, 20, 40, 40, 40]);
  const zero = policy({ initialDelayMs: 0, maxDelayMs: 0 });
  t.match(zero.decide(crash, 0), { restart: true, delayMs: 0 });
  t.match(zero.decide(crash, 1), { restart: true, delayMs: 0 }, 'no delay stays no delay');
});

t.test('modes: never, on-failure (a clean exit ends it), always', async (t) => {
  t.match(policy({ mode: 'never' }).decide(crash, 0), { restart: false, why: 'policy' });
  t.match(policy().decide(clean, 0), { restart: false, why: 'clean-exit' });
  t.match(policy().decide({ code: 3, signal: null, ranMs: 5 }, 0), { restart: true });
  t.match(policy({ mode: 'always' }).decide(clean, 0), { restart: true });
});

t.test('quick failures double the delay up to the cap; the count goes on', async (t) => {
  const p = policy({ maxDelayMs: 1000 });
  const delays = [0, 1, 2, 3, 4, 5].map((i) => {
    const d = p.decide(crash, i);
    return d.restart ? [d.delayMs, d.count] : null;
  });
  t.same(delays, [[100, 1], [200, 2], [400, 3], [800, 4], [1000, 5], [1000, 6]]);
});

t.test('a run of at least stableAfterMs resets the delay to the first one', async (t) => {
  const p = policy();
  p.decide(crash, 0);
  p.decide(crash, 1);
  t.match(p.decide(crash, 2), { restart: true, delayMs: 400 });
  t.match(p.decide({ ...crash, ranMs: STABLE_AFTER_MS - 1 }, 3), { restart: true, delayMs: 800 }, 'just short of stable: still doubling');
  t.match(p.decide({ ...crash, ranMs: STABLE_AFTER_MS }, 4), { restart: true, delayMs: 100 }, 'stable: the first delay again');
  t.match(p.decide(crash, 5), { restart: true, delayMs: 200 });
});

t.test('giving up: maxRestarts within the window; restarts older than the window no longer count', async (t) => {
  const p = policy({ maxRestarts: 2, windowMs: 1000 });
  t.match(p.decide(crash, 0), { restart: true, count: 1 });
  t.match(p.decide(crash, 500), { restart: true, count: 2 });
  const refused = p.decide(crash, 900);
  t.match(refused, { restart: false, why: 'too-many' });
  t.match(refused.restart ? '' : refused.message, /^giving up: the child was restarted 2 times within 1s/);
  t.match(p.decide(crash, 1000), { restart: true, count: 3 }, 'the restart at 0 left the window');
  t.match(p.decide(crash, 1499), { restart: false, why: 'too-many' });
  t.match(policy({ maxRestarts: 0 }).decide(crash, 0), { restart: false, why: 'too-many' }, 'maxRestarts 0: never restarted');
});

t.test('a child that may have ended by a stop signal waits at least the grace for the host\'s own stop signal', async (t) => {
  const { delayAfterDeath, STOP_SIGNAL_GRACE_MS } = await import('../../src/host/signals.js');
  t.equal(STOP_SIGNAL_GRACE_MS, 250);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) t.equal(delayAfterDeath({ code: null, signal }, 10), 250, signal);
  for (const code of [0, 129, 130, 143]) t.equal(delayAfterDeath({ code, signal: null }, 10), 250, `exit ${code}: a child that handled the stop signal`);
  t.equal(delayAfterDeath({ code: null, signal: 'SIGTERM' }, 1000), 1000, 'a longer policy delay stays');
  t.equal(delayAfterDeath({ code: null, signal: 'SIGKILL' }, 10), 10, 'SIGKILL is no stop request');
  t.equal(delayAfterDeath({ code: null, signal: 'SIGSEGV' }, 10), 10, 'a crash neither');
  t.equal(delayAfterDeath({ code: 1, signal: null }, 10), 10, 'nor a failed exit');
});

t.test('its messages name options by their path in supervise()\'s options, or as optionName names them', async (t) => {
  const messages = (optionName?: (option: string) => string): string[] => {
    const make = (options: Partial<RestartPolicyOptions>) => new RestartPolicy({ ...restartPolicyOptions({ mode: 'on-failure', maxRestarts: 0, windowMs: 60_000, initialDelayMs: 100 }), ...options }, optionName);
    return [make({ mode: 'never' }).decide(crash, 0), make({}).decide(clean, 0), make({}).decide(crash, 0)].map((d) => (d.restart ? '' : d.message));
  };
  t.same(messages(), [
    'not restarting (restart.mode never)',
    'the child exited with code 0; not restarting (restart.mode on-failure)',
    'giving up: the child was restarted 0 times within 60s (fix the child, or raise restart.maxRestarts / shorten restart.windowMs)',
  ], 'a library caller sees the options it passed; no command-line flag');
  const flags: Record<string, string> = { 'restart.mode': '--restart', 'restart.maxRestarts': '--max-restarts', 'restart.windowMs': '--restart-window' };
  t.same(messages((o) => flags[o] ?? o), [
    'not restarting (--restart never)',
    'the child exited with code 0; not restarting (--restart on-failure)',
    'giving up: the child was restarted 0 times within 60s (fix the child, or raise --max-restarts / shorten --restart-window)',
  ], 'a command line names its flags');
});
