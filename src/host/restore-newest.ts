// The host's start without a file to carry over: the newest generation
// that verifies, restored into a new shared file; an empty one when there
// is none at all; a refusal when there are some and none restores.
import { closeSync } from 'node:fs';
import { UnusableGeneration, setAsideDirOf, type Generation, type SnapshotStore } from '../store/index.js';
import { createSharedFile, restoreImage } from '../live/index.js';
import { humanBytes } from '../human-bytes.js';
import { ShmHostError } from '../errors.js';
import type { Logger } from './logger.js';

/**
 * A new shared file (memfd named `file.name`, at least `file.size` bytes)
 * holding the newest generation of `store` that verifies, or an empty one;
 * returns its fd and the generation restored (null for an empty file).
 * Each candidate's structure is verified first (manifest, size, layout, a
 * delta's links), and its image checksum while it is
 * restored (restoreImage): a large image is read once, not once to verify
 * and again to copy. One whose checksum fails is skipped like one that
 * fails verify; each skipped one is logged ('fallback'), then what was
 * restored ('restored') or that there was nothing to restore ('empty').
 * When generations exist but none restores, this throws ShmHostError
 * NO_USABLE_GENERATION instead of starting empty. A generation whose
 * files cannot be read (UnusableGeneration) is skipped too; what else
 * restoreImage throws (a failed write into the new file) is thrown, after
 * the generations skipped so far are logged.
 */
export async function restoreNewest(store: SnapshotStore, file: { dir: string; size: number; name: string }, log: Logger): Promise<{ fd: number; generation: Generation | null }> {
  const skipped: Array<{ sequence: number; reason: string; generation: boolean }> = [];
  // "Falling back" only while an older one is left: with none found, the last one skipped was the oldest.
  const logSkipped = (found: boolean): void => {
    for (const s of skipped) log.log('warn', 'fallback', `generation ${s.sequence} is unusable (${s.reason}); ${found || s !== skipped.at(-1) ? 'falling back to an older one' : 'no older one is left'}`, { sequence: s.sequence, reason: s.reason });
  };
  let restored: { fd: number; generation: Generation; size: number } | null = null;
  try {
    for await (const { listed, verdict } of store.verifyAll({ imageChecksum: false })) {
      if (!listed.ok || !verdict.ok) {
        skipped.push({ sequence: listed.sequence, reason: verdict.ok ? '' : verdict.reason, generation: listed.ok });
        continue;
      }
      const { ok: _ok, ...generation } = listed;
      const size = Math.max(file.size, generation.manifest.imageSize);
      const fd = createSharedFile(size, file.name);
      try {
        await restoreImage(generation, fd, size, store);
      } catch (err) {
        closeSync(fd);
        if (!(err instanceof UnusableGeneration)) throw err;
        skipped.push({ sequence: generation.sequence, reason: err.reason, generation: true });
        continue;
      }
      restored = { fd, generation, size };
      break;
    }
  } catch (err) {
    // What was skipped before the failure is still said, before it.
    logSkipped(true);
    throw err;
  }
  logSkipped(restored !== null);
  // A file named like a manifest that does not parse is not a generation (docs/FORMAT.md): retention never deletes it.
  const generations = skipped.filter((s) => s.generation).length;
  if (restored === null && generations > 0) {
    // Starting empty would let retention delete them once new generations
    // exist, although their records may be intact (a damaged tail fails the
    // whole checksum): the only copy of the state, lost without a word.
    throw new ShmHostError('NO_USABLE_GENERATION', `no generation in ${file.dir} can be restored (${generations} found, none of which verifies)`, {
      // Words only: a command line adds the command that verifies `path` (option: the directory is the one to move aside).
      hint: 'the host does not start empty over them, which would let retention delete them; move the directory aside to start empty, or verify every generation in it to see what is wrong with each',
      path: file.dir,
      option: 'dir',
    });
  }
  if (restored === null) {
    const fd = createSharedFile(file.size, file.name);
    const none = skipped.length === 0 ? 'no snapshot to restore' : 'no generation to restore (the files skipped cannot be read as manifests: they are not generations)';
    log.log('info', 'empty', `${none} in ${file.dir}: starting with an empty ${humanBytes(file.size)} shared file`);
    return { fd, generation: null };
  }
  const m = restored.generation.manifest;
  const latest = m.latest ? `latest record at offset ${m.latest.offset}` : 'no records';
  log.log('info', 'restored', `restored generation ${m.sequence} (${m.reason}, ${m.records} records, ${latest}) into a ${humanBytes(restored.size)} shared file`, {
    sequence: m.sequence, reason: m.reason, records: m.records, latestOffset: m.latest?.offset ?? null, size: restored.size,
  });
  await setAsideSkipped(store, skipped.filter((s) => s.generation).map((s) => s.sequence), log);
  return { fd: restored.fd, generation: restored.generation };
}

/**
 * Generations newer than the one restored that do not verify: their files
 * get a second name in the directory's damaged/ (store.setAside), so that
 * retention, which deletes them once newer ones are captured, does not
 * delete the only copy of the records they may still hold; said in one
 * line ('set-aside'), or why it could not be done ('set-aside-failed').
 */
async function setAsideSkipped(store: SnapshotStore, sequences: number[], log: Logger): Promise<void> {
  if (sequences.length === 0) return;
  const which = `generation${sequences.length === 1 ? '' : 's'} ${sequences.join(', ')}`;
  // The store's own path for it: the one it links into.
  const into = setAsideDirOf(store.dir);
  try {
    const linked = await store.setAside(sequences);
    log.log('warn', 'set-aside', `${which} could not be restored: their files and their chains' are linked into ${into} (${linked.length} new), where retention does not delete them; read what is left of their records there as from any snapshot directory, and remove it when done`, { sequences, dir: into, files: linked });
  } catch (err) {
    log.log('warn', 'set-aside-failed', `${which} could not be restored, nor linked into ${into} (${(err as Error).message}): retention will delete them once newer generations are stored; copy their files elsewhere now to keep them`, { sequences, dir: into });
  }
}
