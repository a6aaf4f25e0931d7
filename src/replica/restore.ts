// Restore anywhere: the newest replicated generation whose chain verifies,
// downloaded into an empty local directory. A generation that fails (a
// corrupt or missing object, a broken chain, a record that does not parse,
// or the store's own check) is reported and the next older one is tried.
// Every local operation goes through a StoreFs (the store's file-system
// interface), so that a power-loss test can record and cut it short.
import { fsyncDirectoryWith, raiseSequenceFloorIn, realStoreFs, removeIfPresentWith, type StoreFs } from '../store/index.js';
import { beginRestore, finishRestore, requireRestorable } from './restore-dir.js';
import type { ReplicaClient } from './client.js';
import { downloadFile } from './download.js';
import { ReplicaError, isReplicaError } from './errors.js';
import { objectKey } from './layout.js';
import type { RemoteGeneration } from './record.js';
import { chainOf, listRemote, type RemoteListing } from './remote.js';

export interface RestoreOptions {
  client: ReplicaClient;
  /**
   * The local directory: missing (it is then created, durably), empty, or
   * what an interrupted restore left (cleared first; see restore-dir.ts).
   */
  dir: string;
  /** Restore this generation (and its chain) only; default the newest that verifies. */
  sequence?: number;
  /**
   * The store's check of a downloaded generation (e.g. its manifest and
   * checksum): a reason (one phrase) when it fails, null when it holds.
   */
  verify?: (dir: string, generation: RemoteGeneration) => Promise<string | null>;
  /** Told about every generation passed over, with the reason (one line). */
  onFallback?: (sequence: number, reason: string) => void;
  /** The local file system (default the real one; a test substitutes a recording one). */
  fs?: StoreFs;
}

export interface RestoreResult {
  /** The generation restored, with the chain it needed (newest first). */
  generation: RemoteGeneration;
  chain: number[];
  /** Names of the files now in `dir`. */
  files: string[];
  /** Generations passed over, newest first, each with its reason. */
  fallbacks: Array<{ sequence: number; reason: string }>;
}

/**
 * Downloads the newest generation of the replica whose whole chain
 * verifies into `dir`, durably (every file fsynced, then the directory),
 * all or nothing: a marker file is durable in `dir` until everything else
 * is (restore-dir.ts).
 * It holds `dir`'s lock (the store's) throughout.
 * @throws ReplicaError NOT_FOUND when no generation verifies (the message
 * counts those passed over), LOCAL for the local directory; ACCESS,
 * UNREACHABLE, IO when the replica cannot be read (nothing is decided then);
 * DirectoryLockedError (a StoreError, LOCKED) when another restore, a host,
 * an import or a prune writes `dir` (nothing is touched then).
 */
export async function restoreFromReplica(options: RestoreOptions): Promise<RestoreResult> {
  const { client, dir } = options;
  const sfs = options.fs ?? realStoreFs;
  // A directory in use fails before the replica is asked; the marker is written once the listing is in.
  await requireRestorable(sfs, dir);
  const listing = await listRemote(client);
  const lock = await beginRestore(sfs, dir, client.url);
  try {
    return await restoreLocked(options, sfs, listing);
  } finally {
    await lock.release();
  }
}

/** The restore proper, with `dir`'s lock held and the marker in it. */
async function restoreLocked(options: RestoreOptions, sfs: StoreFs, listing: RemoteListing): Promise<RestoreResult> {
  const { client, dir } = options;
  const fallbacks: Array<{ sequence: number; reason: string }> = [];
  const passOver = (sequence: number, reason: string): void => {
    fallbacks.push({ sequence, reason });
    options.onFallback?.(sequence, reason);
  };
  const candidates = [...new Set([...listing.generations.keys(), ...listing.damaged.keys()])]
    .filter((s) => options.sequence === undefined || s === options.sequence)
    .sort((a, b) => b - a);
  for (const sequence of candidates) {
    const damaged = listing.damaged.get(sequence);
    if (damaged !== undefined) {
      passOver(sequence, `generation ${sequence}: ${damaged}`);
      continue;
    }
    const chain = chainOf(sequence, listing.generations);
    if (!Array.isArray(chain)) {
      passOver(sequence, chain.reason);
      continue;
    }
    const written: string[] = [];
    try {
      for (const s of chain) {
        const g = listing.generations.get(s) as RemoteGeneration;
        for (const f of [...g.files, g.manifest]) {
          await downloadFile(client, objectKey(s, f.name), f, dir, sfs);
          written.push(f.name);
        }
      }
      await fsyncDirectoryWith(sfs, dir);
      const g = listing.generations.get(sequence) as RemoteGeneration;
      const reason = options.verify === undefined ? null : await options.verify(dir, g);
      if (reason !== null) throw new ReplicaError('INTEGRITY', `generation ${sequence} does not verify: ${reason}`, { retryable: false });
      // Newer numbers the replica used (generations passed over): a host that starts while the replica is down numbers above them.
      const highest = Math.max(0, ...listing.objects.keys(), ...listing.damaged.keys());
      if (highest > sequence) await raiseSequenceFloorIn(sfs, dir, highest);
      await finishRestore(sfs, dir);
      return { generation: g, chain, files: written, fallbacks };
    } catch (e) {
      if (!isReplicaError(e, 'INTEGRITY') && !isReplicaError(e, 'NOT_FOUND')) throw e;
      for (const name of written) await removeIfPresentWith(sfs, `${dir}/${name}`).catch(() => {});
      await fsyncDirectoryWith(sfs, dir);
      passOver(sequence, e.message);
    }
  }
  // Nothing restored, and nothing left but the marker: the directory is empty again.
  await finishRestore(sfs, dir);
  const which = options.sequence === undefined ? 'no generation' : `no generation ${options.sequence}`;
  const why = fallbacks.length === 0 ? '' : ` (${fallbacks.length} passed over; newest: ${fallbacks[0]?.reason})`;
  throw new ReplicaError('NOT_FOUND', `replica ${client.url} has ${which} that verifies${why}`, { hint: 'check the URL, or restore from another replica', retryable: false });
}
