// Where a file holds data: memory files and most disk file systems answer
// SEEK_DATA/SEEK_HOLE, and the pages they call holes read as zeros, cost no
// memory and need no copy.
import { fstatSync } from 'node:fs';
import { SysError } from './errors.js';
import { seekData, seekHole } from './file.js';

/** A data run [from, to) of a file. */
export type Run = [number, number];

/**
 * Walks sorted, disjoint runs (from dataRuns) range by range: within(a, b)
 * gives the runs that meet [a, b), clipped to it. Ranges must be asked
 * for in increasing order.
 */
export class RunCursor {
  readonly #runs: readonly Run[];
  #next = 0;

  constructor(runs: readonly Run[]) {
    this.#runs = runs;
  }

  within(a: number, b: number): Run[] {
    const runs = this.#runs;
    while (this.#next < runs.length && runs[this.#next]![1] <= a) this.#next++;
    const out: Run[] = [];
    for (let i = this.#next; i < runs.length && runs[i]![0] < b; i++) out.push([Math.max(runs[i]![0], a), Math.min(runs[i]![1], b)]);
    return out;
  }
}

/**
 * The data runs of `fd` within [start, end). A file that cannot tell
 * (EINVAL) is all data; what lies past the end of file is a hole. With
 * `stopAfter` (bytes), only the first runs, up to the one at which they
 * hold that many bytes.
 */
export function dataRuns(fd: number, start: number, end: number, stopAfter = Infinity): Run[] {
  const runs: Run[] = [];
  let p = start;
  let bytes = 0;
  while (p < end && bytes < stopAfter) {
    let d: number | null;
    let h: number;
    try {
      d = seekData(fd, p);
      if (d === null || d >= end) break;
      h = seekHole(fd, d);
    } catch (err) {
      // SEEK_DATA unsupported: treat the rest as data. ENXIO from SEEK_HOLE:
      // the file shrank under us; the rest reads as zeros.
      if (err instanceof SysError && err.code === 'EINVAL') {
        runs.push([p, end]);
        return runs;
      }
      if (err instanceof SysError && err.code === 'ENXIO') break;
      throw err;
    }
    const to = Math.min(h, end);
    runs.push([d, to]);
    bytes += to - d;
    p = to;
  }
  return runs;
}

/**
 * True when `fd` is at least `size` bytes long and has as many bytes
 * allocated (st_blocks, in 512-byte units: stat(2)) as it is long: then it
 * has no hole, and [0, size) is one data run, found with one fstat instead
 * of a SEEK_HOLE that walks every page of a large memory file (8-15 ms per
 * GiB here). The blocks a file holds past its end (fallocate(2) with
 * FALLOC_FL_KEEP_SIZE) or for metadata (disk file systems) also count, so
 * such a file may have holes and still pass: reading them gives zeros,
 * which is correct, but faulting a memory file's hole through a mapping
 * allocates it.
 */
export function noHoleBelow(fd: number, size: number): boolean {
  const { blocks, size: length } = fstatSync(fd);
  return length >= size && blocks * 512 >= length;
}
