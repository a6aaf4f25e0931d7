// The sequence floor: the highest generation sequence the directory's
// replica was last seen to hold, kept in the snapshot directory so that a
// host started while the replica cannot be reached still numbers new
// generations above it (docs/FORMAT.md, section 9). Without it, a directory
// older than its replica (restored from it, the replica's newer generations
// passed over as corrupt) would give new generations numbers the replica
// already gives others.
import fs from 'node:fs';
import { join } from 'node:path';
import { storeIoError } from './errors.js';
import { DurableFile } from './durable-file.js';
import { readSmallFile, type StoreFs } from './fs.js';
import { MAX_SEQUENCE, SEQUENCE_FLOOR_NAME, TEMP_PREFIX } from './names.js';

/**
 * The floor recorded in `dir` (0 when there is none, or the file does not
 * parse: it is then rewritten at the next record).
 */
export async function readSequenceFloor(sfs: StoreFs, dir: string): Promise<number> {
  let text: string;
  try {
    text = (await readSmallFile(sfs, join(dir, SEQUENCE_FLOOR_NAME), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW, 64)).toString('utf8');
  } catch {
    return 0;
  }
  if (!/^(0|[1-9][0-9]{0,15})\n$/.test(text)) return 0;
  const floor = Number(text.trim());
  return floor <= MAX_SEQUENCE ? floor : 0;
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
