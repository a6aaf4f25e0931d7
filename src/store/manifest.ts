// The manifest beside each image: built by the store, read back as untrusted
// JSON. Parsing checks every field and names the first one that is wrong.
import { ShmHostError } from '../errors.js';
import { U64_MAX } from '../format/index.js';
import { parseSalvageRecord } from './salvage-record.js';
import { REASONS, type DeltaFacts, type Manifest, type ManifestFields, type Reason } from './types.js';

/** The `format` every manifest this version writes carries; it reads 1 and 2. */
export const MANIFEST_FORMAT = 2;
/** Manifests written before delta generations: full images only. */
export const MANIFEST_FORMAT_1 = 1;
const HEX16 = /^[0-9a-f]{16}$/;

/** Where a new generation stands in its chain: nothing for a full one. */
export interface ChainFacts {
  readonly parent: number | null;
  readonly chain: { readonly links: number; readonly bytes: number };
  readonly delta: DeltaFacts | null;
}

/** A full generation's place in a chain. */
export const FULL: ChainFacts = { parent: null, chain: { links: 0, bytes: 0 }, delta: null };
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
export function buildManifest(sequence: number, time: Date, imageSize: number, fields: ManifestFields, chain: ChainFacts = FULL): Manifest {
  return {
    format: MANIFEST_FORMAT,
    kind: chain.delta === null ? 'full' : 'delta',
    parent: chain.parent,
    chain: { links: chain.chain.links, bytes: chain.chain.bytes },
    delta: chain.delta === null ? null : { ...chain.delta },
    sequence,
    time: time.toISOString(),
    reason: fields.reason,
    imageSize,
    checksum: { algorithm: fields.checksum.algorithm, value: fields.checksum.value },
    configured: fields.configured,
    records: fields.records,
    latest: fields.latest === null ? null : { offset: fields.latest.offset, length: fields.latest.length },
    writeOffset: fields.writeOffset,
    // Only when there is one: a clean generation's manifest is as before the field existed.
    ...(fields.salvaged ? { salvaged: { ...fields.salvaged } } : {}),
  };
}

/** The manifest's file contents: indented JSON, one trailing newline; a format-1 manifest keeps its format-1 fields only. */
export function serializeManifest(manifest: Manifest): string {
  if (manifest.format === MANIFEST_FORMAT_1) {
    const { kind: _k, parent: _p, chain: _c, delta: _d, ...v1 } = manifest;
    return `${JSON.stringify(v1, null, 2)}\n`;
  }
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The manifest of a full image standing for `manifest`'s whole image (an export of a delta is self-contained). */
export function asFullManifest(manifest: Manifest): Manifest {
  return { ...manifest, kind: 'full', parent: null, chain: { links: 0, bytes: 0 }, delta: null };
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
  if (m.format !== MANIFEST_FORMAT && m.format !== MANIFEST_FORMAT_1) {
    fail(`unknown manifest format ${JSON.stringify(m.format) ?? 'undefined'} (this version reads formats ${MANIFEST_FORMAT_1} and ${MANIFEST_FORMAT})`);
  }
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
  const chain = m.format === MANIFEST_FORMAT_1 ? FULL : parseChain(m, sequence);
  // Fields this version does not know are read past; the optional ones it knows are checked.
  const salvaged = parseSalvageRecord(m.salvaged);
  if (typeof salvaged === 'string') fail(salvaged);
  return {
    format: m.format,
    kind: chain.delta === null ? 'full' : 'delta',
    parent: chain.parent,
    chain: chain.chain,
    delta: chain.delta,
    sequence,
    time: m.time,
    reason: m.reason as Reason,
    imageSize: m.imageSize,
    checksum: { algorithm: checksum.algorithm, value: checksum.value },
    configured: m.configured,
    records: m.records,
    latest: latest === null ? null : { offset: latest.offset as string, length: latest.length as number },
    writeOffset: m.writeOffset,
    ...(salvaged === null ? {} : { salvaged }),
  };
}

/** The format-2 fields: kind, parent, chain, delta. */
function parseChain(m: Record<string, unknown>, sequence: number): ChainFacts {
  if (m.kind !== 'full' && m.kind !== 'delta') fail(`the manifest has an unknown kind ${JSON.stringify(m.kind) ?? 'undefined'}`);
  const chain = m.chain;
  if (!isObject(chain) || !isCount(chain.links) || !isCount(chain.bytes)) fail('the manifest has no valid chain');
  if (m.kind === 'full') {
    if (m.parent !== null || m.delta !== null || chain.links !== 0 || chain.bytes !== 0) fail('the manifest of a full generation names a parent or a delta');
    return FULL;
  }
  if (!isCount(m.parent) || m.parent < 1 || m.parent >= sequence) fail('the manifest of a delta has no valid parent (an older generation)');
  if (chain.links < 1) fail('the manifest of a delta has no valid chain length');
  const d = m.delta;
  if (!isObject(d) || !isCount(d.blockSize) || d.blockSize === 0 || !isCount(d.held) || !isCount(d.stored) || d.stored > d.held
    || !isCount(d.fileBytes) || typeof d.fileChecksum !== 'string' || !HEX16.test(d.fileChecksum)) {
    fail('the manifest of a delta has no valid delta fields');
  }
  if (chain.bytes < d.fileBytes) fail('the manifest of a delta counts fewer chain bytes than its own file');
  return {
    parent: m.parent,
    chain: { links: chain.links, bytes: chain.bytes },
    delta: { blockSize: d.blockSize, held: d.held, stored: d.stored, fileBytes: d.fileBytes, fileChecksum: d.fileChecksum },
  };
}
