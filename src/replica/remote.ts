// What the replica holds: its complete generations (those with a record),
// the records that are damaged, and the objects of unfinished uploads.
import type { ObjectInfo, ReplicaClient } from './client.js';
import { isReplicaError } from './errors.js';
import { GENERATIONS, parseKey, recordKey } from './layout.js';
import { parseRecord, remoteBytes, type RemoteGeneration } from './record.js';

/** The replica's generations as listed. */
export interface RemoteListing {
  /** Complete generations by sequence, from their records. */
  generations: Map<number, RemoteGeneration>;
  /** Records present but unreadable: sequence -> reason (one phrase). */
  damaged: Map<number, string>;
  /** Keys of objects under generations/ by sequence, record included. */
  objects: Map<number, ObjectInfo[]>;
}

/**
 * Lists the replica: one ListObjectsV2 (paged) plus one GET per record.
 * A record deleted between the listing and its GET is left out.
 * @throws ReplicaError ACCESS, UNREACHABLE, IO.
 */
export async function listRemote(client: ReplicaClient): Promise<RemoteListing> {
  const out: RemoteListing = { generations: new Map(), damaged: new Map(), objects: new Map() };
  const records: number[] = [];
  for (const o of await client.list(GENERATIONS)) {
    const k = parseKey(o.key);
    if (k === null) continue;
    const list = out.objects.get(k.sequence) ?? [];
    list.push(o);
    out.objects.set(k.sequence, list);
    if (k.kind === 'record') records.push(k.sequence);
  }
  for (const sequence of records) {
    let bytes: Uint8Array;
    try {
      bytes = await client.get(recordKey(sequence));
    } catch (e) {
      if (isReplicaError(e, 'NOT_FOUND')) continue;
      throw e;
    }
    const r = parseRecord(bytes, sequence);
    if ('reason' in r) out.damaged.set(sequence, r.reason);
    else out.generations.set(sequence, r);
  }
  return out;
}

/**
 * The sequences generation `sequence` needs, itself first, then its parent
 * and so on to a full generation; or the reason the chain is broken.
 */
export function chainOf(sequence: number, generations: ReadonlyMap<number, RemoteGeneration>): number[] | { reason: string } {
  const chain: number[] = [];
  for (let s: number | null = sequence; s !== null; ) {
    const g = generations.get(s);
    if (g === undefined) return { reason: s === sequence ? `generation ${s} is not on the replica` : `generation ${sequence} needs generation ${s}, which is not on the replica` };
    chain.push(s);
    s = g.parent;
  }
  return chain;
}

/** One row of `list --replica`: a complete generation, or a record that does not parse. */
export type RemoteRow =
  | { sequence: number; ok: true; parent: number | null; offset: string | null; bytes: number; created: string; host: string; objects: string[] }
  | { sequence: number; ok: false; problem: string };

/** The rows of a listing, newest first (as `list` shows a snapshot directory). Sizes in bytes. */
export function remoteRows(listing: RemoteListing): RemoteRow[] {
  const rows: RemoteRow[] = [];
  for (const [sequence, g] of listing.generations) {
    rows.push({ sequence, ok: true, parent: g.parent, offset: g.offset, bytes: remoteBytes(g), created: g.created, host: g.host, objects: [...g.files, g.manifest].map((f) => f.name) });
  }
  for (const [sequence, problem] of listing.damaged) rows.push({ sequence, ok: false, problem });
  return rows.sort((a, b) => b.sequence - a.sequence);
}
