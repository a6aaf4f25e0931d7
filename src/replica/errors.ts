// The replica's one error class: what went wrong with the object storage,
// as one line a person can act on, and a code callers branch on. It is a
// ShmHostError like every other error a user can meet, so the command line
// prints it as one line with its hint, without a stack.
import { ShmHostError } from '../errors.js';

/** What kind of problem a ReplicaError is. */
export type ReplicaErrorCode =
  | 'BAD_URL' // the replica URL cannot be used
  | 'EXISTS' // a conditional create found the key taken (S3: 412 Precondition Failed)
  | 'NOT_FOUND' // no such key (S3: 404 NoSuchKey) or no such bucket
  | 'ACCESS' // credentials missing, wrong or not allowed (S3: 403, or no credentials found)
  | 'UNREACHABLE' // the endpoint did not answer (connection refused, DNS, timeout)
  | 'INTEGRITY' // bytes or a digest disagree with what was written
  | 'LEASE' // another live host writes this prefix
  | 'LOCAL' // the local side: a directory that is not empty, a file that vanished
  | 'ABORTED' // stopped on request
  | 'IO'; // anything else the storage or the file system answered

/** What a ReplicaError carries besides its code and problem. */
export interface ReplicaErrorOptions {
  /** What to do about it, in words. */
  hint?: string;
  /** The object key concerned. */
  key?: string;
  /** Whether trying again later may succeed (default: UNREACHABLE and IO). */
  retryable?: boolean;
  /** The local file or directory concerned (LOCAL). */
  path?: string;
  cause?: unknown;
  /**
   * The host option the hint is about, as supervise() names it
   * (`replica.takeover`, `replica.region`): the hint says what to do in
   * words, a command line names its own flag for it (ShmHostError.option).
   */
  option?: string;
}

/**
 * A failure of the replica. `problem` is one line saying what is wrong,
 * `hint` what to do, `message` both (`problem: hint`). `key` is the object
 * key concerned (or ''), `retryable` says whether trying again later may
 * succeed; the original error, when there is one, is `cause`. Never
 * carries credentials.
 */
export class ReplicaError extends ShmHostError {
  declare readonly code: ReplicaErrorCode;
  readonly key: string;
  readonly retryable: boolean;

  constructor(code: ReplicaErrorCode, problem: string, options: ReplicaErrorOptions = {}) {
    const { hint, path, option, cause } = options;
    super(code, problem, { ...(hint === undefined ? {} : { hint }), ...(path === undefined ? {} : { path }), ...(option === undefined ? {} : { option }), cause });
    this.name = 'ReplicaError';
    this.key = options.key ?? '';
    this.retryable = options.retryable ?? (code === 'UNREACHABLE' || code === 'IO');
  }
}

/** True when `e` is a ReplicaError of the given code. */
export function isReplicaError(e: unknown, code?: ReplicaErrorCode): e is ReplicaError {
  return e instanceof ReplicaError && (code === undefined || e.code === code);
}

/**
 * What kind of failure `e` is, whatever object it met: its code and its
 * line with the object key left out (an outage that moves on to a newer
 * generation's object is still one problem).
 */
export function failureKind(e: unknown, url: string): string {
  const line = failureLine(e, url);
  return e instanceof ReplicaError ? `${e.code} ${e.key === '' ? line : line.split(e.key).join('*')}` : line;
}

/**
 * One line for any failure met talking to replica `url`: a ReplicaError's
 * own message, followed by the option its hint is about as `optionName`
 * names it (by default the option's own name: `...: take the lease over:
 * replica.takeover`); else the first line of `e`.
 */
export function failureLine(e: unknown, url: string, optionName: (option: string) => string = (o) => o): string {
  if (!(e instanceof ReplicaError)) return `replica ${url}: ${String(e).split('\n')[0]}`;
  return e.option === undefined || e.hint === undefined ? e.message : `${e.message}: ${optionName(e.option)}`;
}
