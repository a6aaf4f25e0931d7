// A small live memory file with a real writer, for scenarios to capture, and
// the comparison of images that ignores the words a host publishes.
import { closeSync, fstatSync, ftruncateSync, readSync } from 'node:fs';
import { attach, type SharedState } from '../../../src/client/index.js';
import { EXT_MAGIC_AT, SNAPSHOT_SEQ_AT } from '../../../src/format/constants.js';
import { memfdCreate } from '../../../src/sys/index.js';

/** Bytes a host writes into a live header (extension magic, durable offset, snapshot seq): not part of what was captured. */
const HOST_WORDS: readonly [number, number] = [EXT_MAGIC_AT, SNAPSHOT_SEQ_AT + 8];

export interface LiveImage {
  readonly fd: number;
  /** Commits `n` more records (so each capture differs from the last). */
  commit(n: number): void;
  bytes(): Buffer;
  close(): void;
}

/** A memfd of `size` bytes configured by a real writer with `slots` entry slots and a `ringSize` data ring. */
export function liveImage(size = 64 * 1024, slots = 32, ringSize = 16 * 1024): LiveImage {
  const fd = memfdCreate('crash-live');
  ftruncateSync(fd, size);
  const state: SharedState = attach({ fd, slots, ringSize });
  let counter = 0;
  return {
    fd,
    commit(n) {
      for (let i = 0; i < n; i++) state.commit(new TextEncoder().encode(`record ${counter++} ${'x'.repeat(counter % 200)}`));
    },
    bytes: () => readAll(fd),
    close() {
      state.close();
      closeSync(fd);
    },
  };
}

/** The whole content of the file `fd`. */
export function readAll(fd: number): Buffer {
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    const n = readSync(fd, buf, done, size - done, done);
    if (n === 0) break;
    done += n;
  }
  return buf;
}

/** `a` and `b` equal except in the host's header words; returns the first differing offset or -1. */
export function firstDifference(a: Buffer, b: Buffer): number {
  const [from, to] = HOST_WORDS;
  if (a.length === b.length && a.compare(b, 0, from, 0, from) === 0 && a.compare(b, to, b.length, to, a.length) === 0) return -1;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (i >= from && i < to) continue;
    if (a[i] !== b[i]) return i;
  }
  return -1;
}
