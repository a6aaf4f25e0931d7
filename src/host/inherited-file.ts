// The shared file a service manager may hand back to a restarted host.
import { AttachError, findSharedFd } from '../format/index.js';

/**
 * The shared file handed to this host by its service manager's file
 * descriptor store (LISTEN_FDS naming SHM_SHARED_FD for this pid), or null.
 */
export function inheritedSharedFile(env: NodeJS.ProcessEnv): number | null {
  if (env.LISTEN_FDS === undefined) return null;
  try {
    return findSharedFd(env, process.pid);
  } catch (err) {
    if (err instanceof AttachError) return null;
    throw err;
  }
}
