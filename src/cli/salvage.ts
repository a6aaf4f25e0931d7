// Reading a damaged generation on purpose (--ignore-checksum): cat, show and
// export write what is there, after one warning line on stderr, and end
// with their own exit status, so that neither a person nor a script takes
// the bytes for the ones the manifest describes. A chain link's damage that
// holds no data (non-zero reserved header bytes) is read past with a warning
// too. What cannot be composed (a chain link missing, unreadable or whose
// header or index disagrees) is refused as without the option.
import type { Argv } from 'yargs';
import { ImageFile, StoreError, type Generation, type ImageInfo, type SnapshotStore } from '../store/index.js';
import type { CommandContext } from './command.js';
import { SALVAGE_HINT, damaged, insteadOf, intactProblem } from './damage.js';
import { CommandFailure } from './errors.js';
import type { Source } from './source.js';

/** The option's name, as hints give it. */
export const IGNORE_CHECKSUM = '--ignore-checksum';

/**
 * Exit status of a command that wrote the bytes of a damaged image
 * (--ignore-checksum): not 0, so a script keeps them only knowingly; not
 * 1, which means nothing was written.
 */
export const SALVAGED = 4;

/** `--ignore-checksum`: write a damaged image's bytes anyway. */
export function withIgnoreChecksum<T>(yargs: Argv<T>, what: string) {
  return yargs.option('ignore-checksum', {
    type: 'boolean',
    default: false,
    describe: `Salvage: ${what} even when the image does not match its manifest's checksum (one warning line on stderr, exit ${SALVAGED})`,
  });
}

/** The warning line (without `shm-host: `) for writing `label`'s bytes (`verb`: `writing`, `showing`) although `problem`. */
export const salvageWarning = (label: string, verb: string, problem: string): string =>
  `warning: ${verb} ${label} although its bytes do not match its manifest's checksum (${IGNORE_CHECKSUM}): ${problem}`;

/** The warning line (without `shm-host: `) for writing `label`'s bytes, which match its checksum, although a link's `skipped` damage was read past. */
export const skippedWarning = (label: string, verb: string, skipped: readonly string[]): string =>
  `warning: ${verb} ${label} although ${skipped.join('; ')} (${IGNORE_CHECKSUM}); its image matches its manifest's checksum`;

/**
 * The image of `generation` (a delta's through its chain). With `salvage`
 * true (--ignore-checksum given), a delta file's own checksum and its
 * reserved header bytes are not checked (the image's checksum, checked by
 * the command, says whether the bytes are the ones written; ImageFile.skipped
 * names reserved bytes read past), but a link that is missing or whose
 * header or index cannot be used still fails: such a chain composes no image. A broken link is a CommandFailure CORRUPT
 * naming it, with the generation to read instead, and, when the command
 * takes --ignore-checksum (`salvage` not null) and the chain composes
 * without its files' checksums, the option.
 */
export async function openGenerationImage(store: SnapshotStore, generation: Generation, salvage: boolean | null): Promise<ImageFile> {
  if (generation.manifest.kind === 'full') return ImageFile.open(generation.imagePath);
  try {
    return ImageFile.fromChain(await store.openChain(generation, { checkFiles: salvage === true ? 'salvage' : true }));
  } catch (err) {
    if (!(err instanceof StoreError) || err.code !== 'CORRUPT' || (await store.gone(generation))) throw err;
    // A broken link: the store names it; what to read instead is found here.
    const instead = await insteadOf(store, generation.sequence);
    if (salvage === true) throw new CommandFailure('CORRUPT', err.problem, `a chain whose links do not compose an image cannot be salvaged; ${instead}`, { cause: err });
    const offer = salvage === false && (await composes(store, generation));
    throw new CommandFailure('CORRUPT', err.problem, offer ? `${instead}, ${SALVAGE_HINT}` : instead, { cause: err });
  }
}

/** Whether the chain of `generation` composes an image without its delta files' checksums: a damaged link is then salvageable. */
async function composes(store: SnapshotStore, generation: Generation): Promise<boolean> {
  try {
    await (await store.openChain(generation, { checkFiles: 'salvage' })).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves to status 0 when `image` (of `source`, inspected as `info`) is
 * the one its manifest describes (damage.ts's intactProblem); else throws a
 * CommandFailure CORRUPT (one line, with the generation to read instead)
 * or, with `salvage`, writes one warning line to stderr naming what is
 * wrong (records inspect({ salvage }) left out too) and resolves to SALVAGED. `matches`: whether the image matches its
 * manifest (a salvage that read past a link's reserved bytes only).
 */
export async function intactOrSalvaged(
  source: Pick<Source, 'kind' | 'label' | 'path' | 'store' | 'generation' | 'manifest'>, image: ImageFile, info: ImageInfo,
  salvage: { ctx: CommandContext; verb: string } | null,
): Promise<{ status: number; matches: boolean }> {
  const problem = await intactProblem(source, image, info, salvage !== null);
  // Records a salvage's inspect() left out (they break the commit protocol): said after the damage.
  const records = info.configured ? info.skipped : [];
  if (problem === null && image.skipped.length === 0 && records.length === 0) return { status: 0, matches: true };
  if (salvage === null) throw await damaged(source, problem!);
  const line = problem === null ? skippedWarning(source.label, salvage.verb, image.skipped) : salvageWarning(source.label, salvage.verb, problem);
  salvage.ctx.io.stderr.write(`shm-host: ${[line, ...records].join('; ')}\n`);
  return { status: SALVAGED, matches: problem === null };
}
