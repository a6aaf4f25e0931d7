// Which generation to upload next. Pure: the replicator's loop asks it each
// time it is free.
//
// Only the newest shippable generation matters: one whose chain of parents
// reaches a generation already on the replica or a full one, through
// generations still waiting. Everything older that it does not depend on is
// skipped (the backlog stays bounded by one chain), and a generation whose
// parent is neither on the replica nor waiting can never be shipped.
import type { LocalGeneration } from './generation.js';

export interface UploadPlan {
  /** Upload this one now: the oldest generation of the chosen chain not yet on the replica. */
  next: LocalGeneration | null;
  /** The chosen chain, newest first (all waiting, none on the replica). */
  chain: LocalGeneration[];
  /** Waiting generations older than the chosen one that it does not need. */
  skipped: number[];
  /** Waiting generations that depend on a generation neither waiting nor on the replica. */
  orphaned: number[];
}

/** The chain of waiting generations `g` needs, newest first, or null when it is broken. */
function chainFrom(g: LocalGeneration, waiting: ReadonlyMap<number, LocalGeneration>, isRemote: (sequence: number) => boolean): LocalGeneration[] | null {
  const chain = [g];
  for (let at = g; at.parent !== undefined && !isRemote(at.parent); ) {
    const parent = waiting.get(at.parent);
    if (parent === undefined) return null;
    chain.push(parent);
    at = parent;
  }
  return chain;
}

/** Chooses what to upload among `waiting` (by sequence); `isRemote` tells which sequences the replica has complete. */
export function planUpload(waiting: ReadonlyMap<number, LocalGeneration>, isRemote: (sequence: number) => boolean): UploadPlan {
  const newestFirst = [...waiting.values()].sort((a, b) => b.sequence - a.sequence);
  const orphaned: number[] = [];
  for (const g of newestFirst) {
    const chain = chainFrom(g, waiting, isRemote);
    if (chain === null) {
      orphaned.push(g.sequence);
      continue;
    }
    const needed = new Set(chain.map((c) => c.sequence));
    const skipped = newestFirst.filter((o) => o.sequence < g.sequence && !needed.has(o.sequence)).map((o) => o.sequence);
    return { next: chain[chain.length - 1] ?? null, chain, skipped, orphaned };
  }
  return { next: null, chain: [], skipped: [], orphaned };
}
