// Does an image hold what its manifest says? The same questions the store
// asks of a generation, asked here of an image that is not in a store yet
// (an export being checked or imported).
import { latestOf } from '../format/index.js';
import type { Manifest, ManifestFields } from '../store/index.js';
import type { ImageInfo } from './image-file.js';

/** The manifest fields an image's own contents imply (what a capture would have written). */
export function fieldsOfImage(info: ImageInfo): Omit<ManifestFields, 'reason' | 'checksum'> {
  if (!info.configured) return { configured: false, records: 0, latest: null, writeOffset: '0' };
  const latest = latestOf(info.records);
  return {
    configured: true,
    records: info.records.length,
    latest: latest === null ? null : { offset: latest.offset.toString(), length: latest.length },
    writeOffset: info.writeOffset.toString(),
  };
}

/** What in `manifest` disagrees with the image, in words, or null when they agree. */
export function disagreement(info: ImageInfo, manifest: Manifest): string | null {
  if (info.size !== manifest.imageSize) return `the image has ${info.size} bytes but its manifest says ${manifest.imageSize}`;
  const actual = fieldsOfImage(info);
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
