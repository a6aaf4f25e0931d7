// Handing a dead child's memory to its successor without waiting for the
// disk: a copy into a new memory file that carries the same proof as an
// exact post-mortem capture (docs/FORMAT.md, section 8), so the restart need not wait
// for the snapshot to be written and read back.
import { latestOf, type Layout } from '../format/index.js';
import { sameRecords } from './consistency.js';
import { copyMemoryFile } from './copy-memory-file.js';
import { CaptureError } from './errors.js';
import { checkHeaderUnchanged, readLiveHeader, recordSet, scanSlots, stillUnconfigured, withEntryRing } from './live-file.js';

/** What carryOver did. */
export type CarryOver =
  | {
    readonly kind: 'carried';
    /** False for a file no writer ever configured (copied byte for byte). */
    readonly configured: boolean;
    /** Valid records in the new file, all of them intact. */
    readonly records: number;
    /** The newest record, or null. */
    readonly latest: { readonly offset: bigint; readonly length: number } | null;
    /** Size of the new file. */
    readonly size: number;
  }
  /** Nothing proven: `reason` says why; the caller captures and restores instead. */
  | { readonly kind: 'refused'; readonly reason: string };

/**
 * Copies the memory file `fromFd` of a child whose process group is gone
 * into the new memory file `toFd`, and proves the copy exact: the slots
 * scanned before and after the copy are the same, and they form a valid
 * record set. Refuses (copying or not) when the layout is invalid or the
 * file changed meanwhile (a process outside the group still writes it);
 * then `toFd` must not be used. Other failures (out of memory) throw.
 */
export async function carryOver(fromFd: number, toFd: number): Promise<CarryOver> {
  try {
    const header = readLiveHeader(fromFd);
    if (!header.configured) return await carryRaw(fromFd, toFd);
    return await withEntryRing(fromFd, header.layout, (live) => carryConfigured(fromFd, toFd, live, header.layout));
  } catch (err) {
    if (err instanceof CaptureError) return { kind: 'refused', reason: err.message };
    throw err;
  }
}

async function carryConfigured(fromFd: number, toFd: number, live: Uint8Array, layout: Layout): Promise<CarryOver> {
  const pre = scanSlots(live, layout);
  const { size } = await copyMemoryFile(fromFd, toFd);
  checkHeaderUnchanged(live, layout, 'carry-over');
  const post = scanSlots(live, layout);
  if (!sameRecords(pre, post)) return changedMeanwhile();
  // Every valid slot is a record (no slot needs its length cleared, unlike
  // in a capture that lost a race), provided they form a valid set.
  const records = recordSet(layout, pre);
  const latest = latestOf(records);
  return {
    kind: 'carried', configured: true, records: records.length, size,
    latest: latest === null ? null : { offset: latest.offset, length: latest.length },
  };
}

async function carryRaw(fromFd: number, toFd: number): Promise<CarryOver> {
  const { size } = await copyMemoryFile(fromFd, toFd);
  if (!stillUnconfigured(fromFd)) return changedMeanwhile();
  return { kind: 'carried', configured: false, records: 0, latest: null, size };
}

function changedMeanwhile(): CarryOver {
  return { kind: 'refused', reason: 'the shared file changed while it was carried over: a process outside the child\'s group still writes it' };
}
