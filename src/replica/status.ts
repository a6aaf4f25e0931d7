// What the replicator reports: its state for `status`, its events for the log.

/** The replica as `status` shows it. Sizes in bytes, times ISO 8601. */
export interface ReplicaStatus {
  url: string;
  /** starting: lease and listing not yet done; idle: caught up; uploading; retrying: after a failure; stopped: lease lost or closed. */
  state: 'starting' | 'idle' | 'uploading' | 'retrying' | 'stopped';
  /** The newest generation complete on the replica, the commit-log offset it holds, and when its record was written. */
  lastReplicated: { sequence: number; offset: string | null; at: string } | null;
  /** The upload in progress: the generation's bytes sent so far and in all. */
  uploading: { sequence: number; bytesSent: number; bytes: number } | null;
  /** Generations offered since the last replicated one (skipped ones included). */
  lagGenerations: number;
  /** Bytes still to send to put the newest offered generation on the replica. */
  lagBytes: number;
  /** Generations complete on the replica. */
  remoteGenerations: number;
  lastError: { message: string; at: string } | null;
}

/** The status before anything happened. */
export function initialStatus(url: string): ReplicaStatus {
  return { url, state: 'starting', lastReplicated: null, uploading: null, lagGenerations: 0, lagBytes: 0, remoteGenerations: 0, lastError: null };
}

/** One thing the replicator did, for the host's log. Messages are one line. */
export type ReplicaEvent =
  | { kind: 'lease'; how: string }
  | { kind: 'replicated'; sequence: number; offset: string | null; bytes: number; ms: number }
  | { kind: 'skipped'; sequences: number[]; reason: string }
  | { kind: 'retry'; message: string; delayMs: number }
  | { kind: 'deleted'; sequences: number[] }
  | { kind: 'stopped'; message: string };
