// The mark of a restore from a replica in progress (RESTORE_MARKER,
// docs/FORMAT.md section 9): made durable in the directory before the
// restore writes anything, removed durably once every file it wrote is.
// While it is there the store refuses to open the directory
// (directory.ts). The replica's restore decides when; the bytes and their
// fsyncs are the store's, as every durable write in a snapshot directory is.
import fs from 'node:fs';
import { join } from 'node:path';
import { fsyncDirectoryWith, removeIfPresentWith, writeFullyWith, type StoreFs } from './fs.js';
import { RESTORE_MARKER } from './names.js';

/**
 * Creates `dir`/restore-in-progress holding `text` (a line for a person
 * who finds it), fsyncs it and the directory. Node's errors as they come
 * (EEXIST when it is there already).
 */
export async function markRestoreInProgress(sfs: StoreFs, dir: string, text: string): Promise<void> {
  const fd = await sfs.open(join(dir, RESTORE_MARKER), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    const bytes = Buffer.from(text);
    await writeFullyWith(sfs, fd, bytes, 0, bytes.length, 0);
    await sfs.fsync(fd);
  } finally {
    await sfs.close(fd);
  }
  await fsyncDirectoryWith(sfs, dir);
}

/** Removes `dir`/restore-in-progress, if there, and fsyncs the directory: the restore's commit point. Node's errors as they come. */
export async function clearRestoreMarker(sfs: StoreFs, dir: string): Promise<void> {
  await removeIfPresentWith(sfs, join(dir, RESTORE_MARKER));
  await fsyncDirectoryWith(sfs, dir);
}
