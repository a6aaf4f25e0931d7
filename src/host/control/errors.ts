// Failures of the live channel, on either end, as one line with a fix.
import { ShmHostError } from '../../errors.js';

export type ControlErrorCode =
  /** The host side: a live host already listens in this directory. */
  | 'SOCKET_IN_USE'
  /** The host side: the socket's name is taken by a file that is not a socket. */
  | 'NOT_A_SOCKET'
  | 'LISTEN_FAILED'
  /** The client side: no host listens in this directory. */
  | 'NO_HOST'
  /** The client side: the directory's path cannot be used (not a directory, permission denied, a loop, too long). */
  | 'BAD_PATH'
  | 'TIMEOUT'
  /** The client side: the host answered something that is not a reply. */
  | 'BAD_REPLY'
  /** The host understood the request and could not do it. */
  | 'REFUSED';

/** A live-channel failure: `message` is the problem then the fix, `hint` the fix alone. */
export class ControlError extends ShmHostError {
  declare readonly code: ControlErrorCode;
  declare readonly path: string;
  declare readonly hint: string;

  constructor(code: ControlErrorCode, problem: string, options: { path: string; hint: string; cause?: unknown; option?: string }) {
    super(code, problem, options);
    this.name = 'ControlError';
  }
}
