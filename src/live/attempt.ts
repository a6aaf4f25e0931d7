// One attempt at a capture (docs/FORMAT.md, section 8): a configured file scanned,
// copied and scanned again, or a file never configured taken raw.
import { fstatSync, readSync } from 'node:fs';
import { BlockDigests, IMAGE_CHECKSUM_ALGORITHM, IMAGE_CHUNK_SIZE, ChunkDigests, HEADER_SIZE, MAGIC, headEnd, latestOf, type Layout } from '../format/index.js';
import { Mapping } from '../sys/index.js';
import type { ManifestFields, Reason, SnapshotStore } from '../store/index.js';
import { putDelta, putHead } from './blocks.js';
import { consistentSlots, isStarved, sameRecords } from './consistency.js';
import { CaptureError, ParentUnreadable, invalidLayout } from './errors.js';
import { imageHeaderOf, keepOnlyConsistentIn, readImageHeader } from './image-header.js';
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

/**
 * The steps of docs/FORMAT.md section 8 for a configured file, with the
 * window between the scans kept to one memory copy: the image is created
 * first; then the pre-scan; header, entry ring and data ring copied into
 * memory (one pread of the memory file); the post-scan; and only then is
 * anything written.
 */
async function captureConfigured(fd: number, live: Uint8Array, layout: Layout, store: SnapshotStore, reason: Reason, options: CaptureOptions): Promise<Attempt> {
  const parent = store.deltaParent(fstatSync(fd).size);
  return withImage(store, parent, async (image) => {
    // Allocated before the pre-scan: only the copy lies between the scans,
    // as a busy writer laps small rings in microseconds. Sized for the size
    // seen now; regrown after the post-scan in the rare case it moved.
    let head = new Uint8Array(headEnd(layout.tailBase, fstatSync(fd).size));
    // 1. pre: every slot (offset, length, offset again), atomic loads.
    const pre = scanSlots(live, layout);
    options.onScan?.('pre', pre);
    // The size after the pre-scan: whatever the child grew and wrote before
    // committing a record seen by the pre-scan is inside it.
    const size = fstatSync(fd).size;
    if (size < layout.tailBase) throw invalidLayout(`the shared file shrank to ${size} bytes during the capture, below its ${layout.tailBase}-byte rings`);
    if (parent !== null && size < parent.generation.manifest.imageSize) throw invalidLayout('the shared file shrank during the capture');
    // 2. header, entry ring and data ring, into memory (the head's start).
    readInto(fd, head.subarray(0, layout.tailBase), 0);
    if (options.throttle) await options.throttle({ phase: 'rings', offset: 0, length: layout.tailBase });
    // 3. post: every slot again.
    checkHeaderUnchanged(live, layout, 'capture');
    const post = scanSlots(live, layout);
    options.onScan?.('post', post);
    // 4. consistent: the same pair valid in both.
    const consistent = consistentSlots(pre, post);
    // 7. starved: records existed, none survived the copy.
    if (isStarved(pre, post, consistent)) return { kind: 'starved' } as const;
    const records = recordSet(layout, consistent);
    if (head.length !== headEnd(layout.tailBase, size)) {
      const grown = new Uint8Array(headEnd(layout.tailBase, size));
      grown.set(head.subarray(0, layout.tailBase));
      head = grown;
    }
    const rings = head.subarray(0, layout.tailBase);
    // 5. in the copy, length 0 in every slot that is not consistent.
    keepOnlyConsistentIn(rings, layout, records);
    const copied = imageHeaderOf(rings);
    if (copied.magic !== MAGIC || copied.entryMask !== layout.entryMask || copied.dataMask !== layout.dataMask) {
      throw invalidLayout('the header (magic or masks) changed during the capture');
    }
    // 6. the tail, after the pre-scan: up to the first chunk boundary into
    // memory beside the rings (the head), the rest from the live file.
    readInto(fd, head, layout.tailBase);
    const digests = new ChunkDigests(size, IMAGE_CHUNK_SIZE, true);
    // A delta's block digests: the parent's, and those this capture learns.
    const blocks = parent === null ? null : new BlockDigests(size, parent.blocks ?? undefined);
    let bytesCopied: number;
    try {
      bytesCopied = await onImage(image, 'write snapshot image', async () => {
        if (parent !== null) {
          // A delta may never read its parent (its block digests known): its chain's files are checked here, every time.
          const problem = await store.chainProblem(parent.generation, parent.chain);
          if (problem !== null) throw new ParentUnreadable(parent.generation.sequence, new Error(`generation ${parent.generation.sequence} cannot be read: ${problem}`));
          return putDelta(fd, image, parent, () => store.openChain(parent.generation, { checkFiles: false, chain: parent.chain }), head, digests, blocks!, options);
        }
        await putHead(image, head, digests);
        await image.truncate(size);
        return (await copyInto(fd, image, head.length, size, size, digests, () => true, options, 'tail')).bytesCopied;
      });
    } catch (err) {
      if (!(err instanceof ParentUnreadable)) throw err;
      // A delta needs its parent's bytes; without them, a full generation.
      store.forgetDeltaParent();
      return { kind: 'parent-unreadable', reason: err.message } as const;
    }
    const latest = latestOf(records);
    const fields: ManifestFields = {
      reason,
      checksum: { algorithm: IMAGE_CHECKSUM_ALGORITHM, value: digests.value() },
      configured: true,
      records: records.length,
      latest: latest === null ? null : { offset: latest.offset.toString(), length: latest.length },
      writeOffset: copied.writeOffset.toString(),
    };
    const generation = await commit(image, fields, size);
    store.remember(generation, digests, blocks);
    return {
      kind: 'stored',
      generation,
      records: records.length,
      latestEnd: latest === null ? null : latest.offset + BigInt(latest.length),
      bytesCopied: head.length + bytesCopied,
      writerActive: !sameRecords(pre, post, consistent),
    } as const;
  });
}

/** A file no writer configured, taken byte for byte (post-mortem only: nothing writes it). */
async function captureRaw(fd: number, store: SnapshotStore, reason: Reason, options: CaptureOptions): Promise<Attempt> {
  const size = fstatSync(fd).size;
  if (size < HEADER_SIZE) throw invalidLayout(`the shared file shrank to ${size} bytes during the capture`);
  return withImage(store, null, async (image) => {
    await onImage(image, 'size snapshot image', () => image.truncate(size));
    const digests = new ChunkDigests(size, IMAGE_CHUNK_SIZE, true);
    const { bytesCopied } = await copyInto(fd, image, 0, size, size, digests, () => true, options, 'raw');
    const copied = await onImage(image, 'finish snapshot image', () => readImageHeader(image.fd));
    if (copied.magic !== 0n) return { kind: 'configured-meanwhile' } as const;
    const fields: ManifestFields = {
      reason,
      checksum: { algorithm: IMAGE_CHECKSUM_ALGORITHM, value: digests.value() },
      configured: false,
      records: 0,
      latest: null,
      writeOffset: '0',
    };
    const generation = await commit(image, fields, size);
    store.remember(generation, digests);
    return { kind: 'stored', generation, records: 0, latestEnd: null, bytesCopied, writerActive: false } as const;
  });
}

/**
 * Fills `into[from..]` with the live file's bytes at the same offsets, with
 * pread: one memory copy by the kernel, and a file shrunk meanwhile gives
 * zeros, never a fault.
 */
function readInto(fd: number, into: Uint8Array, from: number): void {
  for (let done = from; done < into.length;) {
    const n = readSync(fd, into, done, Math.min(into.length - done, 1 << 30), done);
    if (n === 0) {
      into.fill(0, done);
      return;
    }
    done += n;
  }
}
