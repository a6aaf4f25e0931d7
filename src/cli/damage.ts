// Turning "this snapshot is damaged" into a line that says which one, what
// is wrong, and what to use instead: a generation that verifies, named, or
// the plain fact that none older does.
import { FormatError } from '../format/index.js';
import type { SnapshotStore } from '../store/index.js';
import { CommandFailure } from './errors.js';
import type { Source } from './source.js';

/**
 * The fix for a damaged generation `sequence` of `store`: the newest older
 * generation that verifies (checksum, chain, layout), or that no older one
 * does. Verifies older generations, newest first, until one passes: for
 * error paths only.
 */
export async function insteadOf(store: SnapshotStore, sequence: number): Promise<string> {
  for (const listed of await store.list()) {
    if (!listed.ok || listed.sequence >= sequence) continue;
    if ((await store.verify(listed)).ok) return `use generation ${listed.sequence} instead, the newest older one that verifies`;
  }
  return 'no older generation verifies either; see shm-host verify --all';
}

/** The fix for damage to `source`: another generation of its store, or for a file, what it should be. */
async function fixFor(source: Pick<Source, 'kind' | 'store' | 'generation'>): Promise<string> {
  if (source.kind === 'generation' && source.store !== null && source.generation !== null) return insteadOf(source.store, source.generation.sequence);
  return 'check that the file is a shm-host snapshot image or export';
}

/** A CommandFailure CORRUPT saying `problem` of `source` (one line), with a fix that holds. */
export async function damaged(source: Pick<Source, 'kind' | 'label' | 'store' | 'generation'>, problem: string, cause?: unknown): Promise<CommandFailure> {
  return new CommandFailure('CORRUPT', `${source.label} is damaged: ${problem}`, await fixFor(source), { cause });
}

/** `err` as a CommandFailure naming `source` when it is a layout problem; other errors unchanged. */
export async function describeDamage(source: Pick<Source, 'kind' | 'label' | 'store' | 'generation'>, err: unknown): Promise<unknown> {
  if (!(err instanceof FormatError)) return err;
  return new CommandFailure(err.code, `${source.label} is damaged: ${err.problem}`, await fixFor(source), { cause: err });
}
