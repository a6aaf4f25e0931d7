// What an image's own bytes say about it, and whether its manifest agrees:
// asked by verify of a stored generation, and by the inspection commands of
// an image that is not in a store yet (an export being checked or imported).
import { latestOf, type Slot } from '../format/index.js';
import type { Manifest, ManifestFields } from './types.js';

/** An image's contents, as read: a raw one, or its valid records and write offset. */
export type ImageFacts =
  | { readonly configured: false }
  | { readonly configured: true; readonly records: readonly Slot[]; readonly writeOffset: bigint };

/** The manifest fields an image's contents imply (what a capture would have written). */
export function fieldsOfImage(facts: ImageFacts): Omit<ManifestFields, 'reason' | 'checksum'> {
  if (!facts.configured) return { configured: false, records: 0, latest: null, writeOffset: '0' };
  const latest = latestOf(facts.records);
  return {
    configured: true,
    records: facts.records.length,
    latest: latest === null ? null : { offset: latest.offset.toString(), length: latest.length },
    writeOffset: facts.writeOffset.toString(),
  };
}

/** What in `manifest` disagrees with the image's contents, in words, or null when they agree. */
export function manifestDisagreement(facts: ImageFacts, manifest: Manifest): string | null {
  const actual = fieldsOfImage(facts);
  if (actual.configured !== manifest.configured) {
    return actual.configured ? 'the image is configured but its manifest says it was captured raw' : 'the image is not configured (magic is zero) but its manifest says it is';
  }
  if (!actual.configured) return null;
  if (actual.records !== manifest.records) return `the image holds ${actual.records} records but its manifest says ${manifest.records}`;
  const a = actual.latest;
  const m = manifest.latest;
  if ((a === null) !== (m === null) || (a !== null && m !== null && (a.offset !== m.offset || a.length !== m.length))) {
    const say = (r: typeof a): string => (r === null ? 'none' : `offset ${r.offset}, ${r.length} bytes`);
    return `the image's latest record (${say(a)}) is not the manifest's (${say(m)})`;
  }
  if (actual.writeOffset !== manifest.writeOffset) return `the image's write_offset ${actual.writeOffset} is not the manifest's ${manifest.writeOffset}`;
  return null;
}

/**
 * What in `manifest` disagrees with an image that is not in a store yet (an
 * export being checked or imported): its size, then its contents.
 */
export function imageDisagreement(info: ImageFacts & { readonly size: number }, manifest: Manifest): string | null {
  if (info.size !== manifest.imageSize) return `the image has ${info.size} bytes but its manifest says ${manifest.imageSize}`;
  return manifestDisagreement(info, manifest);
}
