// Carries out remote retention: deletes the generations the rule lets go
// (record first, so a generation stops being visible before any of its
// files goes), then the objects of uploads that never finished.
import type { ReplicaClient } from './client.js';
import { GENERATIONS, objectKey, parseKey, recordKey } from './layout.js';
import type { RemoteGeneration } from './record.js';
import { generationsToDelete, type RemoteRetention } from './retention.js';

/**
 * Applies `rule` to the replica whose complete generations are `remote`
 * (updated in place). With `sweep` (after a failed upload, or at start:
 * only an interrupted upload leaves debris), objects of a generation
 * without a record are deleted when it is older than the newest complete
 * one and not in `busy` (waiting to be uploaded), and uploads started and
 * never finished are abandoned. Call only between uploads.
 * @returns the sequences of the generations deleted.
 * @throws ReplicaError ACCESS, UNREACHABLE, IO (what was deleted stays deleted).
 */
export async function pruneRemote(
  client: ReplicaClient, remote: Map<number, RemoteGeneration>, rule: RemoteRetention, busy: ReadonlySet<number>, sweep: boolean,
): Promise<number[]> {
  const doomed = generationsToDelete(remote, rule, Date.now());
  for (const sequence of doomed) {
    const g = remote.get(sequence) as RemoteGeneration;
    await client.delete([recordKey(sequence)]);
    remote.delete(sequence);
    await client.delete([...g.files, g.manifest].map((f) => objectKey(sequence, f.name)));
  }
  if (!sweep || remote.size === 0) return doomed;
  const newest = Math.max(...remote.keys());
  // Debris is judged by the listing, not by what this host knows: an object
  // with a record beside it belongs to a generation, whoever wrote it.
  const listed = await client.list(GENERATIONS);
  const recorded = new Set(listed.map((o) => parseKey(o.key)).filter((k) => k?.kind === 'record').map((k) => k!.sequence));
  const debris: string[] = [];
  for (const o of listed) {
    const k = parseKey(o.key);
    if (k !== null && k.kind === 'object' && k.sequence < newest && !recorded.has(k.sequence) && !busy.has(k.sequence)) debris.push(o.key);
  }
  await client.delete(debris);
  // The replicator uploads one thing at a time and prunes between uploads,
  // so no upload of ours is in progress here.
  await client.abandonIncompleteUploads(GENERATIONS);
  return doomed;
}
