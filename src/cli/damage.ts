// Turning "this image breaks the layout" into a line that says which
// snapshot is damaged and what to use instead.
import { FormatError } from '../format/index.js';
import { CommandFailure } from './errors.js';
import type { Source } from './source.js';

/** `err` as a CommandFailure naming `source` when it is a layout problem; other errors unchanged. */
export function describeDamage(source: Pick<Source, 'kind' | 'label'>, err: unknown): unknown {
  if (!(err instanceof FormatError)) return err;
  const fix = source.kind === 'generation'
    ? 'use an older generation; see shm-host list --verify'
    : 'check that the file is a shm-host snapshot image or export';
  return new CommandFailure(err.code, `${source.label} is damaged: ${err.message}`, fix, { cause: err });
}
