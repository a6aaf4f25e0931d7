// One attempt at a capture (docs/FORMAT.md, section 8): a configured file scanned,
// copied and scanned again, or a file never configured taken raw.
import { fstatSync } from 'node:fs';
import { CHECKSUM_ALGORITHM, CHUNK_SIZE, ChunkDigests, HEADER_SIZE, MAGIC, latestOf, type Layout } from '../format/index.js';
import { digestChunksOfFile, type ManifestFields, type Reason, type SnapshotStore } from '../store/index.js';
import { consistentSlots, isStarved, sameRecords } from './consistency.js';
import { CaptureError, invalidLayout } from './errors.js';
import { keepOnlyConsistent, readImageHeader } from './image-header.js';
import { checkHeaderUnchanged, readLiveHeader, recordSet, scanSlots, withEntryRing } from './live-file.js';
import { commit, copyInto, onImage, withImage, type Attempt } from './image-plumbing.js';
import type { CaptureOptions } from './capture-options.js';

/** Reads the live file's header, then captures it as configured, or raw when post-mortem. */
export async function captureOnce(fd: number, store: SnapshotStore, reason: Reason, postMortem: boolean, options: CaptureOptions): Promise<Attempt> {
  const header = readLiveHeader(fd);
  if (!header.configured) {
    if (!postMortem) {
      throw new CaptureError('unconfigured', 'the shared file is not configured yet (no writer attached): nothing to capture while the child runs; a post-mortem or shutdown capture takes it raw');
    }
    return captureRaw(fd, store, reason, options);
  }
  return withEntryRing(fd, header.layout, (live) => captureConfigured(fd, live, header.layout, store, reason, options));
}

/** The steps of docs/FORMAT.md section 8 for a configured file. */
async function captureConfigured(fd: number, live: Uint8Array, layout: Layout, store: SnapshotStore, reason: Reason, options: CaptureOptions): Promise<Attempt> {
  // 1. pre: every slot (offset, length, offset again), atomic loads.
  const pre = scanSlots(live, layout);
  options.onScan?.('pre', pre);
  // The size after the pre-scan: whatever the child grew and wrote before
  // committing a record seen by the pre-scan is inside it.
  const size = fstatSync(fd).size;
  if (size < layout.tailBase) throw invalidLayout(`the shared file shrank to ${size} bytes during the capture, below its ${layout.tailBase}-byte rings`);
  return withImage(store, size, async (image) => {
    const digests = new ChunkDigests(size);
    // Chunks that hold the header or the entry ring are rewritten after the
    // post-scan, so they are hashed afterwards; so is any chunk only partly
    // copied in one phase (the one the tail starts in).
    const hashChunk = (index: number): boolean => index * CHUNK_SIZE >= layout.dataBase;
    // 2. copy header, entry ring and data ring.
    const rings = await copyInto(fd, image, 0, layout.tailBase, size, digests, hashChunk, options, 'rings');
    // 3. post: every slot again.
    checkHeaderUnchanged(live, layout, 'capture');
    const post = scanSlots(live, layout);
    options.onScan?.('post', post);
    // 4. consistent: the same pair valid in both.
    const consistent = consistentSlots(pre, post);
    // 7. starved: records existed, none survived the copy.
    if (isStarved(pre, post, consistent)) return { kind: 'starved' } as const;
    const records = recordSet(layout, consistent);
    // 6. the tail, after the pre-scan.
    const tail = await copyInto(fd, image, layout.tailBase, size, size, digests, hashChunk, options, 'tail');
    // 5. in the copy, length 0 in every slot that is not consistent.
    const copied = await onImage(image, 'finish snapshot image', async () => {
      await keepOnlyConsistent(image, layout, records);
      const h = await readImageHeader(image.fd);
      await digestChunksOfFile(image.fd, digests, digests.missing());
      return h;
    });
    if (copied.magic !== MAGIC || copied.entryMask !== layout.entryMask || copied.dataMask !== layout.dataMask) {
      throw invalidLayout('the header (magic or masks) changed during the capture');
    }
    const latest = latestOf(records);
    const fields: ManifestFields = {
      reason,
      checksum: { algorithm: CHECKSUM_ALGORITHM, value: digests.value() },
      configured: true,
      records: records.length,
      latest: latest === null ? null : { offset: latest.offset.toString(), length: latest.length },
      writeOffset: copied.writeOffset.toString(),
    };
    const generation = await commit(image, fields);
    return {
      kind: 'stored',
      generation,
      records: records.length,
      latestEnd: latest === null ? null : latest.offset + BigInt(latest.length),
      bytesCopied: rings.bytesCopied + tail.bytesCopied,
      writerActive: !sameRecords(pre, post, consistent),
    } as const;
  });
}

/** A file no writer configured, taken byte for byte (post-mortem only: nothing writes it). */
async function captureRaw(fd: number, store: SnapshotStore, reason: Reason, options: CaptureOptions): Promise<Attempt> {
  const size = fstatSync(fd).size;
  if (size < HEADER_SIZE) throw invalidLayout(`the shared file shrank to ${size} bytes during the capture`);
  return withImage(store, size, async (image) => {
    const digests = new ChunkDigests(size);
    const { bytesCopied } = await copyInto(fd, image, 0, size, size, digests, () => true, options, 'raw');
    const copied = await onImage(image, 'finish snapshot image', () => readImageHeader(image.fd));
    if (copied.magic !== 0n) return { kind: 'configured-meanwhile' } as const;
    const fields: ManifestFields = {
      reason,
      checksum: { algorithm: CHECKSUM_ALGORITHM, value: digests.value() },
      configured: false,
      records: 0,
      latest: null,
      writeOffset: '0',
    };
    const generation = await commit(image, fields);
    return { kind: 'stored', generation, records: 0, latestEnd: null, bytesCopied, writerActive: false } as const;
  });
}
