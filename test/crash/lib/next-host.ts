// What the next host does with a directory after the power came back, and
// what it must find: SnapshotStore.open, newestVerified, a restore into a
// new memory file (as src/host/supervisor.ts does), then one more capture.
// Images are compared as the store reads them (through a delta's chain).
import { closeSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { capture } from '../../../src/live/index.js';
import { createLogger } from '../../../src/host/index.js';
import { restoreNewest } from '../../../src/host/restore-newest.js';
import { SnapshotStore, type ChainLimits } from '../../../src/store/index.js';
import { digestOf } from './digest.js';
import { imageOf } from './image-of.js';
import { type LiveImage, firstDifference, readAll } from './live-image.js';

export interface Expectation {
  /** The newest generation whose capture had returned before the crash, or null. */
  readonly acked: number | null;
  /** Acknowledged generations the run had not deleted (begun to) before the crash: each must be there and verify. */
  readonly kept?: readonly number[];
  /** The chain limits the host runs with (default full generations only). */
  readonly chain?: Partial<ChainLimits>;
  /** What each generation the run wrote holds, by sequence; null when unknown (then verification alone vouches for the bytes). */
  readonly images: ReadonlyMap<number, Buffer> | null;
  readonly keep: number;
  /** The memory file the next capture copies. */
  readonly live: LiveImage;
}

const imageOrEmpty = (path: string): Buffer => {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
};

const message = (err: unknown): string => (err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err));

/**
 * What `dir` holds once a store has opened it (every name and its bytes,
 * the lock file aside): all that the checks after the open depend on.
 */
function contentKey(dir: string): string {
  return readdirSync(dir).filter((name) => name !== 'lock').sort().map((name) => `${name} ${digestOf(imageOrEmpty(join(dir, name)))}`).join('\n');
}

/**
 * Opens the store in `dir` as the next host would; returns every broken
 * promise, one line each. The checks after the open depend only on what the
 * open left in the directory and on `want.acked`: `memo` keeps their
 * outcome by that, so crash states that differ only in debris the open
 * sweeps are checked in full once.
 */
export async function checkAsNextHost(dir: string, want: Expectation, memo?: Map<string, string[]>): Promise<string[]> {
  let store: SnapshotStore;
  try {
    store = await SnapshotStore.open(dir, { keep: want.keep, chain: want.chain ?? { maxChain: 0 } });
  } catch (err) {
    return [`the store does not open: ${message(err)}`];
  }
  const key = memo === undefined ? null : `${want.acked} ${want.kept?.join(',')} ${contentKey(dir)}`;
  const known = key === null ? undefined : memo?.get(key);
  if (known !== undefined) {
    await store.close();
    return known;
  }
  const problems = await checkOpened(store, want);
  if (key !== null) memo?.set(key, problems);
  return problems;
}

async function checkOpened(store: SnapshotStore, want: Expectation): Promise<string[]> {
  const problems: string[] = [];
  try {
    const found = await store.newestVerified();
    const g = found.generation;
    if (want.acked !== null && (g === null || g.sequence < want.acked)) {
      problems.push(`acknowledged generation ${want.acked} lost: restores ${g === null ? 'nothing' : `generation ${g.sequence}`} (skipped: ${found.skipped.map((s) => `${s.sequence} ${s.reason}`).join('; ') || 'none'})`);
    }
    if (g !== null) {
      const image = await imageOf(store, g);
      const expected = want.images === null ? image : want.images.get(g.sequence);
      if (expected === undefined) problems.push(`restores generation ${g.sequence}, which the run never wrote`);
      else {
        const diff = firstDifference(image, expected);
        if (diff >= 0) problems.push(`generation ${g.sequence} (${g.manifest.kind}) verifies but differs from what was captured at byte ${diff}`);
        // As the host starts (src/host/restore-newest.ts: the structure checked
        // first, the checksum while copying): the same generation as
        // newestVerified(), and the bytes that were captured.
        const started = await hostStart(store, g.manifest.imageSize);
        if (started.error !== null) problems.push(`restoring generation ${g.sequence} at the host's start fails: ${started.error}`);
        else if (started.sequence !== g.sequence) problems.push(`the host's start restores ${started.sequence === null ? 'nothing' : `generation ${started.sequence}`} where newestVerified() says generation ${g.sequence}`);
        else {
          const restored = firstDifference(started.bytes!, expected);
          if (restored >= 0) problems.push(`restoring generation ${g.sequence} gives a memory file that differs at byte ${restored}`);
        }
      }
    } else {
      const started = await hostStart(store, 64 * 1024);
      if (started.sequence !== null) problems.push(`the host's start restores generation ${started.sequence} where newestVerified() finds none`);
      // With generations there but none restorable the host refuses to start (restore-newest.ts); with none, it starts empty.
      if (started.error !== null && (await store.list()).length === 0) problems.push(`the host's start fails on a directory without generations: ${started.error}`);
    }
    // Never a corrupt generation: whatever is not what was captured fails
    // verification. And every acknowledged generation the run had not
    // deleted is there and verifies: retention never took a link it needs.
    const listed = await store.list();
    for (const s of want.kept ?? []) {
      if (!listed.some((l) => l.sequence === s)) problems.push(`acknowledged generation ${s}, which nothing deleted, is gone`);
    }
    for (const l of listed) {
      if (want.images === null || l.sequence === g?.sequence) continue;
      const verdict = l.ok ? await store.verify(l) : { ok: false as const, reason: l.reason };
      if (!verdict.ok) {
        if (want.kept?.includes(l.sequence)) problems.push(`acknowledged generation ${l.sequence}, which nothing deleted, does not verify: ${verdict.reason}`);
        continue;
      }
      if (!l.ok) continue;
      const expected = want.images.get(l.sequence);
      if (expected === undefined || firstDifference(await imageOf(store, l), expected) >= 0) problems.push(`generation ${l.sequence} verifies but is not what was captured`);
    }
    // Nothing left behind may block the next capture.
    try {
      const next = await capture(want.live.fd, store, 'request');
      const now = (await store.newestVerified()).generation;
      if (now?.sequence !== next.generation.sequence) problems.push(`the next capture (generation ${next.generation.sequence}) is not the newest verified one afterwards (${now?.sequence ?? 'none'})`);
    } catch (err) {
      problems.push(`the next capture fails: ${message(err)}`);
    }
  } catch (err) {
    problems.push(`opening the store as the next host fails: ${message(err)}`);
  } finally {
    await store.close().catch((err: unknown) => problems.push(`close fails: ${message(err)}`));
  }
  return problems;
}

/**
 * The host's start on `store` (restoreNewest, as src/host/file-handoff.ts
 * calls it): the generation it restored and the new file's bytes, null
 * when it started empty, or why it failed.
 */
async function hostStart(store: SnapshotStore, size: number): Promise<{ sequence: number | null; bytes: Buffer | null; error: string | null }> {
  const log = createLogger({ format: 'json', quiet: false, write: () => {} });
  let fd = -1;
  try {
    const started = await restoreNewest(store, { dir: store.dir, size, name: 'crash-restore' }, log);
    fd = started.fd;
    return started.generation === null ? { sequence: null, bytes: null, error: null } : { sequence: started.generation.sequence, bytes: readAll(fd), error: null };
  } catch (err) {
    return { sequence: null, bytes: null, error: message(err) };
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
