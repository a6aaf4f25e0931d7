// Which replicated generations to delete. Pure; the replicator carries it out.
import type { RemoteGeneration } from './record.js';

export interface RemoteRetention {
  /** Keep at least this many newest complete generations (>= 1). */
  keep: number;
  /** Also keep every generation created less than this many ms ago (0: none). */
  keepForMs: number;
}

/** What a replica keeps when nobody says: the newest 8 generations (and what they depend on), whatever their age. */
export const DEFAULT_REMOTE_RETENTION: RemoteRetention = { keep: 8, keepForMs: 0 };

/**
 * The sequences to delete from `generations` (complete, by sequence): all
 * but the `keep` newest and those younger than `keepForMs`, never one a
 * kept generation depends on (through its parents), and never the newest.
 * Deleting only older generations than the newest complete one means a
 * generation goes only once a newer one is complete on the replica.
 */
export function generationsToDelete(generations: ReadonlyMap<number, RemoteGeneration>, rule: RemoteRetention, now: number): number[] {
  const newestFirst = [...generations.keys()].sort((a, b) => b - a);
  const kept = new Set<number>();
  newestFirst.forEach((sequence, i) => {
    const g = generations.get(sequence) as RemoteGeneration;
    if (i < Math.max(1, rule.keep) || (rule.keepForMs > 0 && now - Date.parse(g.created) < rule.keepForMs)) kept.add(sequence);
  });
  for (const sequence of [...kept]) {
    for (let p = generations.get(sequence)?.parent ?? null; p !== null && !kept.has(p); p = generations.get(p)?.parent ?? null) kept.add(p);
  }
  return newestFirst.filter((s) => !kept.has(s)).reverse();
}
