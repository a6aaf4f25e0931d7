// A generation's record on the replica: the last object written for it, so
// its presence means every file it lists is there. It carries what a
// restore needs to check them (sizes and digests) and what retention
// needs to keep chains whole (the parent).

import { DIGEST } from './digest.js';
import { validRuns, type Run } from './runs.js';

/**
 * A file of a replicated generation: name, its object's size in bytes,
 * digest (digest.ts) over parts of `partSize` bytes. A sparse file
 * (runs.ts) also has `runs`, the data runs [from, to) its object holds
 * concatenated, and `size`, the file's length; the rest of it is holes.
 */
export interface RemoteFile {
  name: string;
  bytes: number;
  digest: string;
  partSize: number;
  runs?: Run[];
  size?: number;
}

/** The record of a replicated generation (JSON, `format` RECORD_FORMAT). */
export interface RemoteGeneration {
  format: typeof RECORD_FORMAT | typeof SPARSE_RECORD_FORMAT;
  sequence: number;
  parent: number | null;
  /** Decimal string (may pass 2^53), or null. */
  offset: string | null;
  /** When the record was written (ISO 8601, the writer's clock). */
  created: string;
  /** The writer's host id (see the lease). */
  host: string;
  files: RemoteFile[];
  manifest: RemoteFile;
}

export const RECORD_FORMAT = 'shm-host-replica-generation/1';
/** A record with a sparse file: a reader that predates runs must refuse it, not write the runs as a dense file. */
export const SPARSE_RECORD_FORMAT = 'shm-host-replica-generation/2';

const NAME = /^[^/\0]+$/;

/** The record as bytes (UTF-8 JSON, one line). */
export function encodeRecord(r: RemoteGeneration): Uint8Array {
  return Buffer.from(`${JSON.stringify(r)}\n`);
}

function fileOf(v: unknown): RemoteFile | null {
  if (typeof v !== 'object' || v === null) return null;
  const f = v as Record<string, unknown>;
  if (typeof f.name !== 'string' || !NAME.test(f.name) || f.name === '.' || f.name === '..') return null;
  if (!Number.isSafeInteger(f.bytes) || (f.bytes as number) < 0) return null;
  if (typeof f.digest !== 'string' || !DIGEST.test(f.digest)) return null;
  if (!Number.isSafeInteger(f.partSize) || (f.partSize as number) < 1) return null;
  const file: RemoteFile = { name: f.name, bytes: f.bytes as number, digest: f.digest, partSize: f.partSize as number };
  if (f.runs === undefined && f.size === undefined) return file;
  if (!Number.isSafeInteger(f.size) || !validRuns(f.runs, f.size as number)) return null;
  if (f.runs.reduce((n, [from, to]) => n + to - from, 0) !== file.bytes) return null;
  return { ...file, runs: f.runs, size: f.size as number };
}

/**
 * Parses the record stored under the key of generation `sequence`; every
 * byte is untrusted.
 * @returns the record, or a reason (one phrase) why it is not a valid one.
 */
export function parseRecord(bytes: Uint8Array, sequence: number): RemoteGeneration | { reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return { reason: 'its record is not JSON' };
  }
  if (typeof v !== 'object' || v === null) return { reason: 'its record is not an object' };
  const r = v as Record<string, unknown>;
  if (r.format !== RECORD_FORMAT && r.format !== SPARSE_RECORD_FORMAT) return { reason: `its record has an unknown format ${JSON.stringify(r.format)}` };
  if (r.sequence !== sequence) return { reason: `its record names sequence ${String(r.sequence)}` };
  const parent = r.parent ?? null;
  if (parent !== null && !(Number.isSafeInteger(parent) && (parent as number) >= 1 && (parent as number) < sequence)) return { reason: 'its record has a bad parent' };
  const offset = r.offset ?? null;
  if (offset !== null && !(typeof offset === 'string' && /^\d{1,20}$/.test(offset))) return { reason: 'its record has a bad offset' };
  if (typeof r.created !== 'string' || Number.isNaN(Date.parse(r.created))) return { reason: 'its record has a bad creation time' };
  const files = Array.isArray(r.files) ? r.files.map(fileOf) : null;
  const manifest = fileOf(r.manifest);
  if (files === null || files.some((f) => f === null) || manifest === null) return { reason: 'its record lists a malformed file' };
  const all = [...(files as RemoteFile[]), manifest];
  if (new Set(all.map((f) => f.name)).size !== all.length) return { reason: 'its record lists a file twice' };
  if (all.some((f) => f.runs !== undefined) !== (r.format === SPARSE_RECORD_FORMAT)) return { reason: 'its record\'s format does not match its files' };
  return {
    format: r.format, sequence, parent: parent as number | null, offset: offset as string | null,
    created: r.created, host: typeof r.host === 'string' ? r.host : '', files: files as RemoteFile[], manifest,
  };
}

/** Total bytes of a replicated generation's objects (what the replica stores: a sparse file's data runs only). */
export function remoteBytes(r: RemoteGeneration): number {
  return r.files.reduce((n, f) => n + f.bytes, r.manifest.bytes);
}
