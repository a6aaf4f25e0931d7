// Sparse files on the replica. Object storage has no holes: a 1 GiB image
// holding 10 MiB would go up as 1 GiB, mostly zeros. So a file with holes is
// uploaded as its data runs only (SEEK_DATA/SEEK_HOLE), concatenated in
// order into one object, and its record lists the runs and the file's size;
// a restore writes each run back at its place and leaves the rest holes.
// docs/REPLICA.md, "Sparse files", is the layout's definition.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { dataRuns, type Run } from '../sys/index.js';

export type { Run };

/**
 * The data runs [from, to) of the file at `path` of `bytes` bytes, or null
 * when it has no hole (one run covering it all: uploaded as it is).
 * @throws the file system's error when the file cannot be opened.
 */
export async function sparseRuns(path: string, bytes: number): Promise<Run[] | null> {
  const fh = await open(path, 'r');
  try {
    const runs = dataRuns(fh.fd, 0, bytes);
    return runs.length === 1 && runs[0]![0] === 0 && runs[0]![1] === bytes ? null : runs;
  } finally {
    await fh.close();
  }
}

/** Bytes the runs hold (the object's size). */
export const runBytes = (runs: readonly Run[]): number => runs.reduce((n, [from, to]) => n + to - from, 0);

/** The bytes of a file to upload: all of it, or only its `runs`, in order. */
export async function* fileChunks(path: string, runs?: ReadonlyArray<readonly [number, number]>): AsyncGenerator<Uint8Array> {
  for (const [from, to] of runs ?? [[0, Infinity]]) {
    if (to <= from) continue;
    const stream = createReadStream(path, { highWaterMark: 1 << 20, start: from, ...(to === Infinity ? {} : { end: to - 1 }) });
    for await (const chunk of stream) yield chunk as Uint8Array;
  }
}

/** Whether `runs` (untrusted) are sorted, non-empty, non-overlapping [from, to) ranges within `size` bytes. */
export function validRuns(runs: unknown, size: number): runs is Run[] {
  if (!Array.isArray(runs)) return false;
  let end = 0;
  for (const r of runs) {
    if (!Array.isArray(r) || r.length !== 2 || !Number.isSafeInteger(r[0]) || !Number.isSafeInteger(r[1])) return false;
    const [from, to] = r as [number, number];
    if (from < end || to <= from || to > size) return false;
    end = to;
  }
  return true;
}

/**
 * Maps positions in an object holding `runs` concatenated to positions in
 * the file: `place(objectOffset, length)` returns the file ranges
 * [filePosition, objectOffset, length] that object bytes land on.
 */
export function runPlacer(runs: readonly Run[]): (at: number, length: number) => Array<[number, number, number]> {
  const starts: number[] = [];
  let n = 0;
  for (const [from, to] of runs) {
    starts.push(n);
    n += to - from;
  }
  return (at, length) => {
    const out: Array<[number, number, number]> = [];
    for (let i = 0; i < runs.length && length > 0; i++) {
      const [from, to] = runs[i]!;
      const start = starts[i]!;
      const end = start + to - from;
      if (at >= end) continue;
      const take = Math.min(length, end - at);
      out.push([from + at - start, at, take]);
      at += take;
      length -= take;
    }
    return out;
  };
}
