// What the replicator reports: its state for `status`, its events for the log,
// and the bookkeeping that keeps the state's lag and last replicated true.
import { generationBytes, type LocalGeneration } from './generation.js';
import { planUpload } from './plan.js';
import type { RemoteGeneration } from './record.js';

/** The replica as `status` shows it. Sizes in bytes, times ISO 8601. */
export interface ReplicaStatus {
  url: string;
  /** starting: lease and listing not yet done; idle: caught up; uploading; retrying: after a failure; stopped: lease lost or closed. */
  state: 'starting' | 'idle' | 'uploading' | 'retrying' | 'stopped';
  /** The newest generation complete on the replica, the commit-log offset it holds, and when its record was written. */
  lastReplicated: { sequence: number; offset: string | null; at: string } | null;
  /** The upload in progress: the generation's bytes sent so far, and in all: what goes up (a sparse file's data runs only, not its holes). */
  uploading: { sequence: number; bytesSent: number; bytes: number } | null;
  /** Generations offered since the last replicated one (skipped ones included). */
  lagGenerations: number;
  /**
   * Bytes still to send to put the newest offered generation on the
   * replica: the upload in progress as it goes up (data runs only), the
   * generations of its chain still waiting at their files' sizes (an upper
   * bound for a sparse one, whose holes are found when its upload starts).
   */
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
  /** After each listing: the highest sequence any key of the replica names (new local generations number above it). */
  | { kind: 'listed'; highest: number }
  /** The replica holds another generation `sequence` than the local one (reconcile.ts); `reason` says whose. */
  | { kind: 'diverged'; sequence: number; reason: string }
  /** `problem` is `message` without the object it met: the same outage on the next object is the same problem. */
  | { kind: 'retry'; message: string; problem: string; delayMs: number }
  | { kind: 'deleted'; sequences: number[] }
  | { kind: 'stopped'; message: string };

/**
 * After the replica's generations changed: records the newest complete one
 * in `status` and returns the offered sequences still newer than it (the lag).
 */
export function noteReplicated(status: ReplicaStatus, remote: ReadonlyMap<number, RemoteGeneration>, offered: number[]): number[] {
  const newest = Math.max(0, ...remote.keys());
  const r = remote.get(newest);
  const prev = status.lastReplicated;
  if (r !== undefined && (prev === null || prev.sequence !== newest)) status.lastReplicated = { sequence: newest, offset: r.offset, at: r.created };
  status.remoteGenerations = remote.size;
  return offered.filter((s) => s > newest);
}

/** Sets the lag: generations offered since the last replicated one, and what the newest one's chain still needs sent (bytes). */
export function noteLag(status: ReplicaStatus, offered: number[], waiting: ReadonlyMap<number, LocalGeneration>, isRemote: (sequence: number) => boolean): void {
  status.lagGenerations = offered.length;
  const { chain } = planUpload(waiting, isRemote);
  const up = status.uploading;
  status.lagBytes = Math.max(0, chain.reduce((n, g) => n + (g.sequence === up?.sequence ? up.bytes : generationBytes(g)), 0) - (up?.bytesSent ?? 0));
}
