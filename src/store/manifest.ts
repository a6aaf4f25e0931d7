// The manifest beside each image: built by the store, read back as untrusted
// JSON. Parsing checks every field and names the first one that is wrong.
import { ShmHostError } from '../errors.js';
import { U64_MAX } from '../format/index.js';
import { REASONS, type Manifest, type ManifestFields, type Reason } from './types.js';

/** The `format` every manifest this version writes carries, and the only one it reads. */
export const MANIFEST_FORMAT = 1;
/** A manifest is a few hundred bytes; anything far larger is not one. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

/** Why a manifest cannot be used, in words. */
export class ManifestError extends ShmHostError {
  constructor(message: string) {
    super('BAD_MANIFEST', message);
    this.name = 'ManifestError';
  }
}

/** The manifest of generation `sequence`, as the store writes it. */
export function buildManifest(sequence: number, time: Date, imageSize: number, fields: ManifestFields): Manifest {
  return {
    format: MANIFEST_FORMAT,
    sequence,
    time: time.toISOString(),
    reason: fields.reason,
    imageSize,
    checksum: { algorithm: fields.checksum.algorithm, value: fields.checksum.value },
    configured: fields.configured,
    records: fields.records,
    latest: fields.latest === null ? null : { offset: fields.latest.offset, length: fields.latest.length },
    writeOffset: fields.writeOffset,
  };
}

/** The manifest's file contents: indented JSON, one trailing newline. */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isU64String = (v: unknown): v is string => typeof v === 'string' && DECIMAL.test(v) && BigInt(v) <= U64_MAX;

function fail(what: string): never {
  throw new ManifestError(what);
}

/**
 * Parses and checks the text of the manifest of generation `sequence`.
 * Throws a ManifestError naming the first problem; never anything else.
 */
export function parseManifest(text: string, sequence: number): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail(text.trim() === '' ? 'the manifest is empty' : 'the manifest is not valid JSON (truncated or overwritten?)');
  }
  if (!isObject(value)) fail('the manifest is not a JSON object');
  const m = value;
  if (m.format !== MANIFEST_FORMAT) fail(`unknown manifest format ${JSON.stringify(m.format) ?? 'undefined'} (this version reads format ${MANIFEST_FORMAT})`);
  if (m.sequence !== sequence) fail(`the manifest says sequence ${JSON.stringify(m.sequence) ?? 'undefined'}, but its file name says ${sequence}`);
  if (typeof m.time !== 'string' || Number.isNaN(Date.parse(m.time))) fail('the manifest has no valid time');
  if (typeof m.reason !== 'string' || !(REASONS as readonly string[]).includes(m.reason)) fail(`the manifest has an unknown reason ${JSON.stringify(m.reason) ?? 'undefined'}`);
  if (!isCount(m.imageSize)) fail('the manifest has no valid imageSize');
  const checksum = m.checksum;
  if (!isObject(checksum) || typeof checksum.algorithm !== 'string' || typeof checksum.value !== 'string' || checksum.value === '') {
    fail('the manifest has no valid checksum');
  }
  if (typeof m.configured !== 'boolean') fail('the manifest has no valid configured flag');
  if (!isCount(m.records)) fail('the manifest has no valid record count');
  const latest = m.latest;
  if (latest !== null) {
    if (!isObject(latest) || !isU64String(latest.offset) || !isCount(latest.length) || latest.length === 0) {
      fail('the manifest has an invalid latest record');
    }
  }
  if ((latest === null) !== (m.records === 0)) fail(`the manifest counts ${m.records} records but ${latest === null ? 'has no' : 'has a'} latest record`);
  if (!isU64String(m.writeOffset)) fail('the manifest has no valid writeOffset');
  if (!m.configured && m.records !== 0) fail('the manifest says the file was never configured, yet counts records');
  return {
    format: MANIFEST_FORMAT,
    sequence,
    time: m.time,
    reason: m.reason as Reason,
    imageSize: m.imageSize,
    checksum: { algorithm: checksum.algorithm, value: checksum.value },
    configured: m.configured,
    records: m.records,
    latest: latest === null ? null : { offset: latest.offset as string, length: latest.length as number },
    writeOffset: m.writeOffset,
  };
}
