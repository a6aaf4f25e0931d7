// Data files no manifest names, as list and verify report them: not
// generations, and deleted by the next writer that opens the directory (a
// host's start, import, prune: the sweep, event `swept`). Said before that
// happens, so that a manifest deleted by mistake costs no intact image.
// They do not change the exit status: every generation is what it was, and
// a script checking for damage must not fail on debris a start cleans up.
import { basename } from 'node:path';
import type { OrphanDataFile, SnapshotStore } from '../store/index.js';
import { humanBytes } from './text.js';

/** One orphan, as `list --json` and `verify --json` print it under `orphans`. */
export interface OrphanRow {
  /** The data file's path. */
  readonly path: string;
  readonly sequence: number;
  /** `full` (a `.img`) or `delta` (a `.delta`). */
  readonly kind: 'full' | 'delta';
  /** The manifest that would make it a generation, which is not there. */
  readonly manifest: string;
  /** Its size in bytes, or null when stat(2) failed. */
  readonly bytes: number | null;
}

export const orphanRow = (o: OrphanDataFile): OrphanRow => ({ path: o.path, sequence: o.sequence, kind: o.kind, manifest: o.manifestPath, bytes: o.bytes });

/** The text line for one orphan: what it is, what will happen to it, and how to keep it. */
export function orphanLine(o: OrphanRow): string {
  const size = o.bytes === null ? '' : ` (${humanBytes(o.bytes)})`;
  const keep = o.kind === 'full'
    ? 'put its manifest back, or copy the file out of the directory first (show and cat read the copy as a bare image)'
    : 'put its manifest back (a delta file cannot be read without it)';
  return `${o.path}${size}: not a generation, no manifest names it (${basename(o.manifest)} is missing): the next start of a host on this directory, or an import or prune into it, deletes it; to keep it, ${keep}\n`;
}

/**
 * Looks for orphans around `work` (which reads the manifests): once before
 * and once after, so that what a running host commits or deletes meanwhile
 * is not reported (SnapshotStore.orphans with `seen`). Returns what `work`
 * returned and the orphans, newest first.
 */
export async function aroundOrphans<T>(store: SnapshotStore, work: () => Promise<T>): Promise<{ value: T; orphans: OrphanRow[] }> {
  const seen = await store.orphans();
  const value = await work();
  const orphans = seen.length === 0 ? [] : await store.orphans(seen);
  return { value, orphans: orphans.map(orphanRow) };
}
