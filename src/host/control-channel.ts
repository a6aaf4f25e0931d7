// The live channel as the supervisor opens it: a failure to open it is
// logged, and the host runs on without it. Its modules (node:net among
// them) load only when it opens, after the first child's spawn: the
// child's start does not wait for them (docs/BENCHMARKS.md, Start-up).
import type { CaptureResult } from '../live/index.js';
import type { ControlServer } from './control/index.js';
import type { HostState } from './host-state.js';
import type { Logger } from './logger.js';
import type { SupervisorOptions } from './options.js';

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The control server on `options.dir`, answering `status` from `state` and
 * `snapshot` with `capture` (resolves once durable); null when
 * `options.controlChannel` is false or it cannot be opened (logged).
 */
export async function openControlChannel(
  options: Pick<SupervisorOptions, 'dir' | 'intervalMs' | 'controlChannel'>, log: Logger, state: HostState, capture: () => Promise<CaptureResult>,
): Promise<ControlServer | null> {
  if (options.controlChannel === false) return null;
  try {
    const { startControlServer } = await import('./control/index.js');
    return await startControlServer(options.dir, {
      status: () => state.status(options.dir, options.intervalMs),
      snapshot: async () => ({ sequence: (await capture()).generation.sequence }),
    }, {
      onError: (err) => log.log('warn', 'control', `live channel: ${messageOf(err)}`),
    });
  } catch (err) {
    // The child's state matters more than the channel: run without it.
    log.log('warn', 'control', `no live channel (status/snapshot commands will not reach this host): ${messageOf(err)}`);
    return null;
  }
}
