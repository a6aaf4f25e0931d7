// Finding the shared file the way sd_listen_fds_with_names(3) does (pure: reads an environment object).
import { ShmHostError } from '../errors.js';

export const SD_LISTEN_FDS_START = 3;
export const SHARED_FD_NAME = 'SHM_SHARED_FD';

/** Why no shared file was found: each case names what is missing and the fix. */
export class AttachError extends ShmHostError {
  declare readonly code: 'NO_SHARED_FILE' | 'PID_MISMATCH' | 'NO_SUCH_NAME' | 'BAD_ENVIRONMENT' | 'BAD_FILE';

  /** `options.hint` and `options.option` as ShmHostError's (the option of the host that started this process). */
  constructor(code: AttachError['code'], message: string, options?: { cause?: unknown; hint?: string; option?: string }) {
    super(code, message, { cause: options?.cause, ...(options?.hint === undefined ? {} : { hint: options.hint }), ...(options?.option === undefined ? {} : { option: options.option }) });
    this.name = 'AttachError';
  }
}

const RUN_HINT = 'start the program under the host: shm-host -- <command>, or pass { standalone: true } to attach() to run without persistence';

/**
 * The fd passed as SHM_SHARED_FD, checked like libsystemd does: LISTEN_PID
 * must be this process, fds start at 3, LISTEN_FDNAMES names each.
 */
export function findSharedFd(env: NodeJS.ProcessEnv, pid: number): number {
  const { LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES } = env;
  if (LISTEN_FDS === undefined || LISTEN_PID === undefined) {
    throw new AttachError('NO_SHARED_FILE', `no shared memory file was passed to this process (LISTEN_FDS is not set): ${RUN_HINT}`);
  }
  if (!/^[0-9]+$/.test(LISTEN_PID) || Number(LISTEN_PID) !== pid) {
    throw new AttachError('PID_MISMATCH', `LISTEN_PID=${LISTEN_PID} is not this process (${pid}): the shared file was meant for another process; ${RUN_HINT}`);
  }
  if (!/^[0-9]+$/.test(LISTEN_FDS) || Number(LISTEN_FDS) < 1) {
    throw new AttachError('BAD_ENVIRONMENT', `LISTEN_FDS=${LISTEN_FDS} passes no file descriptor: ${RUN_HINT}`);
  }
  const count = Number(LISTEN_FDS);
  const names = LISTEN_FDNAMES === undefined ? [] : LISTEN_FDNAMES.split(':');
  const index = names.indexOf(SHARED_FD_NAME);
  if (index < 0 || index >= count) {
    throw new AttachError('NO_SUCH_NAME', `none of the ${count} passed file descriptors is named ${SHARED_FD_NAME} (LISTEN_FDNAMES=${LISTEN_FDNAMES ?? ''}): ${RUN_HINT}`);
  }
  return SD_LISTEN_FDS_START + index;
}

/** The socket-activation variables sd_listen_fds(3) reads. */
export const LISTEN_VARIABLES = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'LISTEN_PIDFDID'] as const;

/** Removes the socket-activation variables, as libsystemd's unset_environment does. */
export function unsetListenEnvironment(env: NodeJS.ProcessEnv): void {
  for (const name of LISTEN_VARIABLES) delete env[name];
}
