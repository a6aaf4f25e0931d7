// The sequence floor: the highest generation sequence the directory's
// replica was last seen to hold, kept in the snapshot directory so that a
// host started while the replica cannot be reached still numbers new
// generations above it (docs/FORMAT.md, section 9). Without it, a directory
// older than its replica (restored from it, the replica's newer generations
// passed over as corrupt) would give new generations numbers the replica
// already gives others.
import fs from 'node:fs';
import { join } from 'node:path';
import { StoreError, storeIoError } from './errors.js';
import { DurableFile } from './durable-file.js';
import { readSmallFile, type StoreFs } from './fs.js';
import { MAX_SEQUENCE, SEQUENCE_FLOOR_NAME, TEMP_PREFIX } from './names.js';

/**
 * The floor recorded in `dir`, 0 when there is none.
 * @throws StoreError (storeIoError) when the file exists but cannot be read,
 * or holds something else than a sequence (it is written by rename, so it
 * is never torn: anything else is damage, and a floor read as 0 would let
 * new generations take numbers the replica holds).
 */
export async function readSequenceFloor(sfs: StoreFs, dir: string): Promise<number> {
  const path = join(dir, SEQUENCE_FLOOR_NAME);
  let text: string;
  try {
    text = (await readSmallFile(sfs, path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW, 64)).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw storeIoError('read the sequence floor in', path, err);
  }
  const floor = /^(0|[1-9][0-9]{0,15})\n$/.test(text) ? Number(text.trim()) : NaN;
  if (!(floor <= MAX_SEQUENCE)) {
    throw new StoreError('BAD_MANIFEST', `${path} does not hold a generation sequence (damaged)`, { path, hint: `remove it if no replica holds generations numbered above the directory's; otherwise restore the directory from the replica` });
  }
  return floor;
}

/**
 * Records `floor` (a sequence) in `dir` durably: a temporary file, fsync,
 * rename over the old one, fsync of the directory (DurableFile). The
 * caller holds the directory's lock.
 * @throws StoreError (storeIoError) when it cannot be written.
 */
export async function recordSequenceFloor(sfs: StoreFs, dir: string, floor: number): Promise<void> {
  const path = join(dir, SEQUENCE_FLOOR_NAME);
  try {
    const file = await DurableFile.create(path, true, sfs, `${TEMP_PREFIX}${SEQUENCE_FLOOR_NAME}-`);
    try {
      await file.write(Buffer.from(`${floor}\n`, 'utf8'));
      await file.commit();
    } finally {
      await file.abort();
    }
  } catch (err) {
    throw storeIoError('record the sequence floor in', path, err);
  }
}

/** Records `highest` as the floor of `dir` unless the floor there is already as high. @throws StoreError as recordSequenceFloor. */
export async function raiseSequenceFloorIn(sfs: StoreFs, dir: string, highest: number): Promise<void> {
  if (highest > await readSequenceFloor(sfs, dir)) await recordSequenceFloor(sfs, dir, highest);
}
