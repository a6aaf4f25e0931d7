// Data files no manifest names ("orphans"): not generations, and deleted by
// the next writer that opens the directory (settle.ts sweeps them, event
// `swept`). Readers report them, so that a user who deleted a manifest by
// mistake hears of it before an intact image goes.
import { errorCode } from './errors.js';
import type { StoreFs } from './fs.js';
import { scanDirectory, type DirectoryScan } from './listing.js';
import { writerMayBeActive } from './lock.js';
import { generationFileName, generationPaths, temporaryName } from './names.js';

/** One data file (`gen-<sequence>.img` or `.delta`) whose manifest `gen-<sequence>.json` is not in its directory. */
export interface OrphanDataFile {
  readonly sequence: number;
  /** `full` for an image (`.img`), `delta` for a delta file. */
  readonly kind: 'full' | 'delta';
  /** The data file's path (the directory joined with its name). */
  readonly path: string;
  /** Where its manifest would be. */
  readonly manifestPath: string;
  /** The file's size in bytes (stat(2)), or null when it could not be read. */
  readonly bytes: number | null;
}

type Found = { readonly sequence: number; readonly kind: 'full' | 'delta' };

/** How long orphans are watched beside a live writer, for deletions in flight to end (ms). */
const WRITER_SETTLE_MS = 1000;
const POLL_MS = 20;

const key = (o: Found): string => `${o.kind}:${o.sequence}`;

/** Those of `candidates` that `scan` still finds without a manifest, and with none being written under its temporary name. */
function stillOrphans(scan: DirectoryScan, candidates: readonly Found[]): Found[] {
  const orphans = new Set([
    ...scan.orphanImages.map((sequence) => key({ sequence, kind: 'full' })),
    ...scan.orphanDeltas.map((sequence) => key({ sequence, kind: 'delta' })),
  ]);
  const inFlight = (sequence: number): boolean => {
    const temp = temporaryName(generationFileName(sequence, 'manifest'));
    return scan.temporaries.some((name) => name.startsWith(temp));
  };
  return candidates.filter((o) => orphans.has(key(o)) && !inFlight(o.sequence));
}

/**
 * The data files of `dir` that no manifest names, one look (readdir), in
 * sequence order, newest first. With `seen` (an earlier look's answer),
 * only those of `seen` that are still orphans now: see the comment below.
 * @throws the file system's error when `dir` cannot be read.
 */
export async function orphanDataFiles(sfs: StoreFs, dir: string, seen?: readonly OrphanDataFile[]): Promise<OrphanDataFile[]> {
  const scan = await scanDirectory(sfs, dir);
  const found: Found[] = [
    ...scan.orphanImages.map((sequence) => ({ sequence, kind: 'full' as const })),
    ...scan.orphanDeltas.map((sequence) => ({ sequence, kind: 'delta' as const })),
  ];
  let now = found;
  if (seen !== undefined) {
    // Beside a running host a data file is briefly named before its
    // manifest (data renamed, then the manifest: docs/FORMAT.md section 9),
    // and retention deletes a manifest before its data files, which it
    // unlinks later, in the background (freeing a large file's cached pages
    // takes a while). A file is an orphan only if two looks, one before the
    // caller read the manifests and this one after, both found it without
    // its manifest, and no manifest is being written for it under its
    // temporary name (a writer that dies there leaves debris of an
    // interrupted write, never a committed generation, so nothing that ever
    // existed goes unreported). When the lock file names a live writer, what
    // is left is watched a little longer (WRITER_SETTLE_MS, polling): a
    // deletion still in flight ends meanwhile, a real orphan stays (it goes
    // only at the next writer's open). No lock is probed: readers take none,
    // and a probe would make a starting writer retry.
    const before = new Set(seen.map(key));
    now = stillOrphans(scan, found.filter((o) => before.has(key(o))));
    if (now.length > 0 && (await writerMayBeActive(sfs, dir))) {
      for (const deadline = performance.now() + WRITER_SETTLE_MS; now.length > 0 && performance.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        now = stillOrphans(await scanDirectory(sfs, dir), now);
      }
    }
  }
  now = [...now].sort((a, b) => b.sequence - a.sequence || a.kind.localeCompare(b.kind));
  const out: OrphanDataFile[] = [];
  for (const { sequence, kind } of now) {
    const { imagePath, manifestPath } = generationPaths(dir, sequence, kind);
    let bytes: number | null;
    try {
      bytes = (await sfs.stat(imagePath)).size;
    } catch (err) {
      // Gone since the readdir (unlinked): no longer there to lose.
      if (errorCode(err) === 'ENOENT') continue;
      bytes = null;
    }
    out.push({ sequence, kind, path: imagePath, manifestPath, bytes });
  }
  return out;
}
