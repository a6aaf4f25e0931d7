// fsync(2) of a directory: what makes the names created, renamed or
// removed in it durable (a rename is not durable until its directory is).
import { open } from 'node:fs/promises';

/** fsync(2) of directory `dir`. @throws the fs error (ENOENT, EACCES, EIO). */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
