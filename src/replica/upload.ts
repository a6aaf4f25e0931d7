// Uploads one generation: its files, then its manifest, a check of what the
// replica lists, and last its record, which makes it visible. An upload
// stopped at any point leaves no record, so no partial generation is ever
// taken for a complete one; a retry writes the same keys again.
import { stat } from 'node:fs/promises';
import type { PutOptions, ReplicaClient } from './client.js';
import { ReplicaError } from './errors.js';
import type { LocalGeneration, LocalGenerationFile } from './generation.js';
import { objectKey, objectPrefix, recordKey } from './layout.js';
import { RECORD_FORMAT, SPARSE_RECORD_FORMAT, encodeRecord, type RemoteFile, type RemoteGeneration } from './record.js';
import { runBytes, sparseRuns, type Run } from './runs.js';
import type { ReplicaStatus } from './status.js';

/** The local file is gone or changed: the generation cannot be shipped (not retryable). */
function localProblem(g: LocalGeneration, f: LocalGenerationFile, what: string, cause?: unknown): ReplicaError {
  return new ReplicaError('LOCAL', `generation ${g.sequence}: ${f.path} ${what}`, { hint: 'it is not replicated; a newer generation will be', key: f.name, path: f.path, retryable: false, cause });
}

/** Checks the file's size against its description; returns its data runs when it has holes (runs.ts). */
async function checkLocal(g: LocalGeneration, f: LocalGenerationFile): Promise<Array<[number, number]> | null> {
  let size: number;
  try {
    size = (await stat(f.path)).size;
    if (size === f.bytes) return await sparseRuns(f.path, f.bytes);
  } catch (e) {
    throw localProblem(g, f, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
  throw localProblem(g, f, `has ${size} bytes, the store described ${f.bytes}`);
}

/**
 * What uploading `g` sends: per file (data files, then the manifest) its
 * data runs (null: the whole file), and `bytes`, the sum of what goes up
 * (a sparse file's data runs only, docs/REPLICA.md "Sparse files").
 */
export interface UploadShape {
  readonly runs: ReadonlyArray<Run[] | null>;
  readonly bytes: number;
}

/**
 * The shape of `g`'s upload, from its files as they are now (sizes
 * checked against the description, holes found with SEEK_DATA/SEEK_HOLE).
 * @throws ReplicaError LOCAL when a file is gone or has another size.
 */
export async function uploadShape(g: LocalGeneration): Promise<UploadShape> {
  const runs: Array<Run[] | null> = [];
  let bytes = 0;
  for (const f of [...g.files, g.manifest]) {
    const r = await checkLocal(g, f);
    runs.push(r);
    bytes += r === null ? f.bytes : runBytes(r);
  }
  return { runs, bytes };
}

/**
 * Uploads generation `g` and returns its record, which is on the replica
 * when this resolves. `shape` is uploadShape(g) (computed here when not
 * given); `onProgress` gets the generation's bytes sent so far, of
 * `shape.bytes`; `beforeRecord` runs just before the record is written
 * (the lease check).
 * @throws ReplicaError LOCAL (a file vanished or changed: drop the
 * generation), INTEGRITY, ACCESS, UNREACHABLE, IO (retry later), ABORTED.
 */
export async function uploadGeneration(
  client: ReplicaClient, g: LocalGeneration, host: string, options: PutOptions & { beforeRecord?: () => Promise<void>; shape?: UploadShape } = {},
): Promise<RemoteGeneration> {
  const shipped: RemoteFile[] = [];
  const shape = options.shape ?? await uploadShape(g);
  let before = 0;
  for (const [i, f] of [...g.files, g.manifest].entries()) {
    const runs = shape.runs[i] ?? null;
    const stored = runs === null ? f.bytes : runBytes(runs);
    const base = before;
    const put: PutOptions = { onProgress: (n) => options.onProgress?.(base + n) };
    if (options.signal !== undefined) put.signal = options.signal;
    const r = await client.put(objectKey(g.sequence, f.name), runs === null ? { path: f.path } : { path: f.path, runs }, put);
    if (r.bytes !== stored) throw localProblem(g, f, `changed while it was uploaded (${r.bytes} bytes read, ${stored} expected)`);
    shipped.push({ name: f.name, bytes: r.bytes, digest: r.digest, partSize: r.partSize, ...(runs === null ? {} : { runs, size: f.bytes }) });
    before += stored;
  }
  // Every object must be listed with its size before the record says so.
  const listed = new Map((await client.list(objectPrefix(g.sequence))).map((o) => [o.key, o.bytes]));
  for (const f of shipped) {
    const key = objectKey(g.sequence, f.name);
    if (listed.get(key) !== f.bytes) {
      throw new ReplicaError('INTEGRITY', `replica ${client.url}, object ${key}: listed with ${listed.get(key) ?? 'no'} bytes after writing ${f.bytes}`, { hint: 'it will be uploaded again', key, retryable: true });
    }
  }
  await options.beforeRecord?.();
  const manifest = shipped.pop() as RemoteFile;
  const record: RemoteGeneration = {
    format: shipped.some((f) => f.runs !== undefined) || manifest.runs !== undefined ? SPARSE_RECORD_FORMAT : RECORD_FORMAT, sequence: g.sequence, parent: g.parent ?? null, offset: g.offset ?? null,
    created: new Date().toISOString(), host, files: shipped, manifest,
  };
  await client.put(recordKey(g.sequence), { bytes: encodeRecord(record) }, options.signal === undefined ? {} : { signal: options.signal });
  return record;
}

/**
 * uploadGeneration with `status.uploading` kept current: set once the
 * upload's shape is known (its `bytes` what goes up, a sparse file's data
 * runs only), its `bytesSent` as they go, null at the end; `onChange` runs
 * after each change.
 */
export async function uploadTracked(
  client: ReplicaClient, g: LocalGeneration, host: string, status: ReplicaStatus, onChange: () => void, options: PutOptions & { beforeRecord?: () => Promise<void> },
): Promise<RemoteGeneration> {
  try {
    const shape = await uploadShape(g);
    status.uploading = { sequence: g.sequence, bytesSent: 0, bytes: shape.bytes };
    onChange();
    return await uploadGeneration(client, g, host, {
      ...options,
      shape,
      onProgress: (n) => {
        if (status.uploading !== null) status.uploading.bytesSent = n;
        onChange();
      },
    });
  } finally {
    status.uploading = null;
    onChange();
  }
}
