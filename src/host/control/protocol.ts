// The live channel's wire format: one JSON object per line in each
// direction, a request answered by exactly one reply carrying the same id.
// Everything a peer sends is untrusted; decodeRequest never throws.
import type { Reason } from '../../store/index.js';
import type { ReplicaStatus } from '../../replica/index.js';

/** The socket's file name inside the snapshot directory. */
export const SOCKET_NAME = 'control.sock';

/** Protocol version, added as `protocol` to every status so a client can tell what it talks to. */
export const PROTOCOL_VERSION = 1;

/** A request line longer than this is refused (and the connection closed): requests are a few dozen bytes. */
export const MAX_REQUEST_BYTES = 16 * 1024;

/** A reply can carry a status with a few exit reasons; a client refuses anything past this. */
export const MAX_REPLY_BYTES = 1024 * 1024;

/** How one incarnation of the child ended, as the host saw it. */
export interface ExitRecord {
  /** ISO 8601 time the host saw the exit. */
  readonly time: string;
  readonly pid: number;
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** Signal name (`SIGKILL`), or null. */
  readonly signal: string | null;
  /** In words: `killed by SIGKILL`, `exited with code 3`. */
  readonly reason: string;
}

/** The last generation the host stored. */
export interface CaptureRecord {
  readonly sequence: number;
  /** ISO 8601 time the capture finished (durable). */
  readonly time: string;
  readonly durationMs: number;
  /** Image bytes written. */
  readonly bytes: number;
  readonly reason: Reason;
}

/** The last restart, phase by phase, in ms (fractions kept to 0.01 ms). */
export interface RestartTimelineRecord {
  /** The restart count this timeline belongs to. */
  readonly restart: number;
  /** ISO 8601 wall time the host saw the child's death (its exit collected). */
  readonly deathSeenAt: string;
  /** Death seen to no member of the child's process group left running. */
  readonly reapMs: number;
  /** Reaped to the next file ready: the memory copied and proven (or the capture and restore that replace it). */
  readonly copyMs: number;
  /** The restart delay as slept (the policy's, or the stop-signal grace). */
  readonly delayMs: number;
  /** Delay over to the next child exec'd (spawn returned). */
  readonly spawnMs: number;
  /** Death seen to the next child spawned: the sum of the phases. */
  readonly totalMs: number;
}

/**
 * What `shm-host status` shows: the supervisor fills it in on each request.
 * Stream offsets are decimal strings (they can pass 2^53).
 */
export interface HostStatus {
  /** The host's own pid. */
  readonly pid: number;
  /** Absolute snapshot directory. */
  readonly dir: string;
  /** ISO 8601 time the host started. */
  readonly startedAt: string;
  readonly uptimeMs: number;
  readonly child: {
    /** Pid of the running child, or null between incarnations. */
    readonly pid: number | null;
    /** The command and its arguments, as given after `--`. */
    readonly command: readonly string[];
    /** `running`, `restarting` (waiting out the restart delay), `stopping`, or `exited`. */
    readonly state: 'running' | 'restarting' | 'stopping' | 'exited';
    /** ISO 8601 time the current incarnation started, or null. */
    readonly startedAt: string | null;
  };
  /** Restarts over the host's life. */
  readonly restarts: number;
  /** The most recent exits, newest first (a few at most). */
  readonly lastExits: readonly ExitRecord[];
  readonly lastCapture: CaptureRecord | null;
  /** The phases of the last restart, or null before the first (absent from hosts before issue 12). */
  readonly lastRestart: RestartTimelineRecord | null;
  /** Captures retried because the child outran the copy. */
  readonly starvedCaptures: number;
  /** The live file's durable_offset (decimal string; "0" = none). */
  readonly durableOffset: string;
  /** The live file's snapshot_seq: the generation durableOffset comes from (0 = none). */
  readonly snapshotSeq?: number;
  /** Capture interval in ms; 0 = only post-mortem and shutdown captures. */
  readonly intervalMs: number;
  /** ISO 8601 time of the next interval capture, or null when none is scheduled. */
  readonly nextCaptureDue: string | null;
  /** The replica (`--replica`): last generation and offset replicated, lag, last error; null without one. */
  readonly replica?: ReplicaStatus | null;
}

/** What a requested capture produced, once it is durable. */
export interface SnapshotResult {
  readonly sequence: number;
}

/** The requests a host answers. */
export type ControlRequest =
  | { readonly id: RequestId; readonly op: 'status' }
  | { readonly id: RequestId; readonly op: 'snapshot'; readonly wait: boolean };

export type RequestId = string | number | null;

/** Why a request failed, as a code a client can branch on. */
export type ControlErrorCode = 'BAD_REQUEST' | 'TOO_LARGE' | 'UNKNOWN_OP' | 'BUSY' | 'FAILED';

export type ControlReply =
  | { readonly id: RequestId; readonly ok: true; readonly result: unknown }
  | { readonly id: RequestId; readonly ok: false; readonly error: { readonly code: ControlErrorCode; readonly message: string } };

/** Serializes one message as a line; bigints become decimal strings. */
export function encodeLine(message: ControlRequest | ControlReply): string {
  return `${JSON.stringify(message, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isRequestId = (v: unknown): v is RequestId =>
  v === null || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 128);

/** A request line parsed and checked, or the error reply it deserves. */
export type Decoded = { readonly ok: true; readonly request: ControlRequest } | { readonly ok: false; readonly reply: ControlReply };

function refuse(id: RequestId, code: ControlErrorCode, message: string): Decoded {
  return { ok: false, reply: { id, ok: false, error: { code, message } } };
}

/** Parses one request line (without its newline). Never throws: bad input yields an error reply. */
export function decodeRequest(line: string): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return refuse(null, 'BAD_REQUEST', 'the request is not valid JSON: send one JSON object per line, e.g. {"id":1,"op":"status"}');
  }
  if (!isObject(value)) return refuse(null, 'BAD_REQUEST', 'the request is not a JSON object: send e.g. {"id":1,"op":"status"}');
  const id = isRequestId(value.id) ? value.id : null;
  if (value.id !== undefined && !isRequestId(value.id)) {
    return refuse(null, 'BAD_REQUEST', 'the request id must be a number, a string of at most 128 characters, or null');
  }
  switch (value.op) {
    case 'status':
      return { ok: true, request: { id, op: 'status' } };
    case 'snapshot': {
      if (value.wait !== undefined && typeof value.wait !== 'boolean') return refuse(id, 'BAD_REQUEST', 'snapshot: "wait" must be true or false');
      return { ok: true, request: { id, op: 'snapshot', wait: value.wait === true } };
    }
    default:
      return refuse(id, 'UNKNOWN_OP', `unknown op ${JSON.stringify(value.op) ?? 'undefined'}: this host answers "status" and "snapshot"`);
  }
}
