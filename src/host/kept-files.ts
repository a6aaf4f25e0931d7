// The shared files children used, each with the mapping its captures read
// (KeptMapping), closed together: a mapping left behind would keep a
// closed file's memory alive.
import { closeSync } from 'node:fs';
import { KeptMapping } from '../live/index.js';

export class KeptFiles {
  readonly #kept = new Map<number, KeptMapping>();

  /** Starts keeping a mapping of `fd` (mapped at its first capture); one kept under that number before is dropped. */
  use(fd: number): void {
    this.#kept.get(fd)?.close();
    this.#kept.set(fd, new KeptMapping(fd));
  }

  /** The mapping kept of `fd`, if it is one of these files. */
  get(fd: number): KeptMapping | undefined {
    return this.#kept.get(fd);
  }

  /** Unmaps `fd`'s mapping (once no capture reads it), then closes `fd`; one closed already is left as it is. */
  close(fd: number): void {
    this.#kept.get(fd)?.close();
    this.#kept.delete(fd);
    try {
      closeSync(fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBADF') throw err;
    }
  }
}
