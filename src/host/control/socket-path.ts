// Where the live channel's socket lives, and the address to bind or connect
// to. A unix socket address holds at most 107 bytes of path, and Node does
// not refuse a longer one: it silently cuts it, binding a socket at a
// truncated path somewhere else. For a deep --dir, the address goes through
// an open descriptor of the directory instead (/proc/self/fd/N/<name>),
// which names the same file in a few dozen bytes.
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { SOCKET_NAME } from './protocol.js';

/** Longest path a sockaddr_un holds (108 bytes with the terminating NUL). */
export const MAX_SOCKET_ADDRESS_BYTES = 107;

/** The socket's path in `dir` (absolute). */
export function socketPath(dir: string): string {
  return join(resolve(dir), SOCKET_NAME);
}

/** An address for the socket of `dir`; release() once bound or connected. */
export interface SocketAddress {
  readonly address: string;
  release(): void;
}

/**
 * The address to bind or connect to for the socket in `dir`: its path when
 * it fits, otherwise a path through a descriptor of the directory held open
 * until release(). Throws the open error (ENOENT, ENOTDIR...) for a
 * directory that cannot be opened.
 */
export function socketAddress(dir: string): SocketAddress {
  const path = socketPath(dir);
  if (Buffer.byteLength(path) <= MAX_SOCKET_ADDRESS_BYTES) return { address: path, release: () => {} };
  // libuv opens every descriptor close-on-exec, so a child never inherits this one.
  const fd = fs.openSync(resolve(dir), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  let open = true;
  return {
    address: `/proc/self/fd/${fd}/${SOCKET_NAME}`,
    release: () => {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}
