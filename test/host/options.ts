// supervise() checks its options before anything starts, naming the first
// one that is wrong.
import t from 'tap';
import { Supervisor, createLogger, restartPolicyOptions, supervise, validateSupervisorOptions, type SupervisorOptions } from '../../src/host/index.js';

const good: SupervisorOptions = {
  dir: '/nonexistent/shm-host-options-test',
  size: 64 * 1024,
  intervalMs: 1000,
  keep: 3,
  restart: restartPolicyOptions({ mode: 'on-failure', maxRestarts: 10, windowMs: 60_000, initialDelayMs: 100 }),
  stopTimeoutMs: 10_000,
  command: 'true',
  args: [],
  logger: createLogger({ format: 'text', quiet: true }),
};

t.test('valid options pass', async (t) => {
  t.doesNotThrow(() => validateSupervisorOptions(good));
  const longest = 2 ** 31 - 1;
  t.doesNotThrow(() => validateSupervisorOptions({ ...good, intervalMs: longest, stopTimeoutMs: longest, chain: { maxChain: 1000, maxChainRatio: 10 } }), 'the longest timers and chains');
});

t.test('each bad option is named', async (t) => {
  const cases: Array<[Partial<Record<keyof SupervisorOptions, unknown>>, RegExp]> = [
    [{ dir: '' }, /^options\.dir/],
    [{ command: '' }, /^options\.command/],
    [{ args: ['a', 1] }, /^options\.args/],
    [{ logger: {} }, /^options\.logger/],
    [{ optionName: '--flags' }, /^options\.optionName must be a function/],
    [{ size: 100 }, /^options\.size must be .* at least 12288; got 100/],
    [{ size: 65536.5 }, /^options\.size/],
    [{ intervalMs: -1 }, /^options\.intervalMs/],
    [{ keep: 1 }, /^options\.keep must be .* at least 2; got 1/],
    [{ stopTimeoutMs: Number.NaN }, /^options\.stopTimeoutMs/],
    [{ restart: { ...good.restart, mode: 'sometimes' } }, /^options\.restart\.mode/],
    [{ restart: { ...good.restart, windowMs: 0 } }, /^options\.restart\.windowMs/],
    [{ restart: { ...good.restart, maxDelayMs: 99 } }, /^options\.restart\.maxDelayMs \(99\) must be at least initialDelayMs \(100\); equal means a constant delay/],
    [{ restart: { ...good.restart, maxDelayMs: -1 } }, /^options\.restart\.maxDelayMs must be a whole number/],
    // Past setTimeout()'s 32-bit count of ms a timer fires after 1 ms: a stop would SIGKILL at once, an interval capture every ms.
    [{ intervalMs: 2 ** 31 }, /^options\.intervalMs must be a whole number of ms from 0 to 2147483647/],
    [{ stopTimeoutMs: 2 ** 31 }, /^options\.stopTimeoutMs must be a whole number of ms from 0 to 2147483647/],
    [{ restart: { ...good.restart, initialDelayMs: 2 ** 31, maxDelayMs: 2 ** 31 } }, /^options\.restart\.initialDelayMs must be a whole number from 0 to 2147483647/],
    [{ restart: { ...good.restart, maxDelayMs: 2 ** 31 } }, /^options\.restart\.maxDelayMs must be a whole number from 0 to 2147483647/],
    [{ chain: { maxChain: 1001 } }, /^options\.chain\.maxChain must be a whole number of deltas from 0 to 1000; got 1001/],
    [{ chain: { maxChainRatio: 10.5 } }, /^options\.chain\.maxChainRatio must be a fraction of the image size from 0 to 10/],
  ];
  for (const [change, message] of cases) {
    t.throws(() => validateSupervisorOptions({ ...good, ...change } as SupervisorOptions), { message }, JSON.stringify(change));
  }
});

t.test('supervise() rejects bad options before touching the directory', async (t) => {
  t.throws(() => supervise({ ...good, keep: 0 }), RangeError);
});

t.test('a capture asked for before there is a shared file is a ShmHostError, not a bare Error', async (t) => {
  await t.rejects(new Supervisor(good).requestCapture(), { name: 'ShmHostError', code: 'NOT_READY', problem: /no shared file yet/, hint: /once the child has started/ });
});
