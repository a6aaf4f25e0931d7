// The run command's options as interpretRunOptions() reads them: a default
// that belongs to the host (the restart policy's longest delay, the
// replica's retention) is left unset here, so the host's one constant
// applies, and the help text that names it agrees with that constant.
import t from 'tap';
import { RUN_OPTIONS, interpretRunOptions, type RawRunOptions } from '../../src/cli/run-options.js';
import { MAX_RESTART_DELAY_MS, STABLE_AFTER_MS, restartPolicyOptions } from '../../src/host/index.js';
import { DEFAULT_REMOTE_RETENTION } from '../../src/replica/retention.js';

/** What yargs hands over for `shm-host --dir d -- true` with `extra` on the command line. */
const raw = (extra: Partial<RawRunOptions> = {}): RawRunOptions => ({
  dir: 'd', size: '64M', interval: '1s', keep: '3', 'max-chain': '10', 'max-chain-ratio': '0.25', restart: 'on-failure', 'max-restarts': '10',
  'restart-window': '60s', 'restart-delay': '100ms', 'stop-timeout': '10s', 'log-format': 'text', quiet: false, command: ['true'], ...extra,
});

/** The restart policy run.ts builds from the options. */
const policyOf = (r: RawRunOptions): ReturnType<typeof restartPolicyOptions> => {
  const o = interpretRunOptions(r);
  return restartPolicyOptions({ mode: o.restart, maxRestarts: o.maxRestarts, windowMs: o.restartWindowMs, initialDelayMs: o.restartDelayMs, maxDelayMs: o.restartMaxDelayMs });
};

t.test("no --restart-max-delay: the host's MAX_RESTART_DELAY_MS, or the first delay when longer", async (t) => {
  t.equal(interpretRunOptions(raw()).restartMaxDelayMs, undefined, 'left to the host');
  t.equal(policyOf(raw()).maxDelayMs, MAX_RESTART_DELAY_MS);
  t.equal(policyOf(raw({ 'restart-delay': '45s' })).maxDelayMs, 45_000);
  t.equal(policyOf(raw({ 'restart-max-delay': '2s' })).maxDelayMs, 2000, 'given: as given');
  t.throws(() => interpretRunOptions(raw({ 'restart-delay': '1s', 'restart-max-delay': '500ms' })), { code: 'USAGE', problem: /shorter than --restart-delay/ });
});

t.test('the help names the host\'s constants as they are', async (t) => {
  t.equal(RUN_OPTIONS['restart-max-delay'].defaultDescription, `${MAX_RESTART_DELAY_MS / 1000}s`);
  t.match(RUN_OPTIONS['restart-delay'].describe, `once the child ran ${STABLE_AFTER_MS / 1000}s`);
  t.equal(RUN_OPTIONS['replica-keep'].defaultDescription, String(DEFAULT_REMOTE_RETENTION.keep));
  t.equal(RUN_OPTIONS['replica-keep-for'].defaultDescription, String(DEFAULT_REMOTE_RETENTION.keepForMs));
});

t.test('no --replica-keep or --replica-keep-for: unset, for the replica\'s own defaults', async (t) => {
  const replica = interpretRunOptions(raw({ replica: 'file:///tmp/r' })).replica;
  t.match(replica, { url: 'file:///tmp/r', takeover: false });
  t.equal(replica?.keep, undefined);
  t.equal(replica?.keepForMs, undefined);
  t.match(interpretRunOptions(raw({ replica: 'file:///tmp/r', 'replica-keep': '2', 'replica-keep-for': '1h' })).replica, { keep: 2, keepForMs: 3_600_000 });
});
