// The live channel as the supervisor opens it: a failure to open it is
// logged, and the host runs on without it.
import { startControlServer, type ControlHandlers, type ControlServer } from './control/index.js';
import type { Logger } from './logger.js';

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The control server on `dir` answering with `handlers`, or null when it cannot be opened (logged). */
export async function openControlChannel(dir: string, log: Logger, handlers: ControlHandlers): Promise<ControlServer | null> {
  try {
    return await startControlServer(dir, handlers, {
      onError: (err) => log.log('warn', 'control', `live channel: ${messageOf(err)}`),
    });
  } catch (err) {
    // The child's state matters more than the channel: run without it.
    log.log('warn', 'control', `no live channel (status/snapshot commands will not reach this host): ${messageOf(err)}`);
    return null;
  }
}
