// The one shape of every error a user of shm-host can meet, whatever part
// of the program raised it. This file is shared by every folder of src/
// (the layout check allows it everywhere) and imports nothing.

/** Options every ShmHostError takes besides its code and problem. */
export interface ShmHostErrorOptions {
  /** The file or directory concerned, when there is one. */
  readonly path?: string;
  /** What to do about it, in words (a library hint names no command-line flag). */
  readonly hint?: string;
  /** The error this one explains (a Node or libc error, a lower layer's). */
  readonly cause?: unknown;
  /**
   * The option of the call the hint is about, by its library name (`dir`,
   * `keep`, `timeoutMs`): a command line names its own flag for it.
   */
  readonly option?: string;
}

/**
 * A failure a person can act on. `code` is a stable word to branch on
 * (`NOT_FOUND`, `EAGAIN`, `BAD_MAGIC`...); `problem` is one line saying what
 * is wrong; `hint`, when known, says what to do; `message` is both,
 * `problem: hint`. Printers (the CLI) build their line from the fields,
 * never by taking the message apart.
 */
export class ShmHostError extends Error {
  readonly code: string;
  readonly problem: string;
  readonly path: string | undefined;
  readonly hint: string | undefined;
  readonly option: string | undefined;

  constructor(code: string, problem: string, options: ShmHostErrorOptions = {}) {
    super(options.hint === undefined ? problem : `${problem}: ${options.hint}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShmHostError';
    this.code = code;
    this.problem = problem;
    this.path = options.path;
    this.hint = options.hint;
    this.option = options.option;
  }
}
