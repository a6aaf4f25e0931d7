// Generations a host skipped at its start (they do not verify) are set
// aside before retention can delete them: their files, and those of every
// link of their chains, get a second name (a hard link) in the snapshot
// directory's `damaged/` subdirectory (docs/FORMAT.md, "Set aside").
//
// Why: a generation fails its checksum when one byte of its image changed,
// although its records may all be intact; once a host restores an older
// one and captures again, retention deletes the newer damaged ones, and
// with them the only copy of the records they hold beyond it. In
// `damaged/` they are a snapshot directory of their own that the host
// never writes: readers (with their salvage option) read what is left.
// Links cost no space while the originals exist and no copy; the
// originals stay where they are (retention removes them as before).
import { join } from 'node:path';
import type { StoreFs } from './fs.js';
import { fsyncDirectoryWith } from './fs.js';
import { parseGenerationFileName } from './names.js';

/** The subdirectory of a snapshot directory that holds generations set aside. */
export const SET_ASIDE_DIR = 'damaged';

/**
 * The directory the generations of snapshot directory `dir` are set aside
 * in: `dir`/damaged. The one place that path is made, for the store that
 * links into it and for whoever names it (the host's log).
 */
export function setAsideDirOf(dir: string): string {
  return join(dir, SET_ASIDE_DIR);
}

/**
 * Links into setAsideDirOf(`dir`) (created if missing, mode 0700) every
 * file of the generations `sequences` and of the generations `parentOf`
 * leads to from them (a generation's parent, or null: full, unknown or
 * unreadable), unless a file of that name is there already. fsyncs only
 * what changed: the subdirectory when something was linked, and `dir`
 * when the subdirectory was created or something was linked into it (its
 * name may come from a run killed before its fsync: the links are only as
 * durable as the name that reaches them); nothing when nothing was new.
 * Returns the names linked (empty when nothing was new).
 * @throws the file system's error (EXDEV, EPERM: no hard links here), or an Error when `sfs` offers no link().
 */
export async function setAsideIn(sfs: StoreFs, dir: string, sequences: readonly number[], parentOf: (sequence: number) => Promise<number | null>): Promise<string[]> {
  if (sfs.link === undefined) throw new Error('this file system interface makes no hard links');
  const wanted = new Set<number>();
  for (const first of sequences) {
    for (let s: number | null = first; s !== null && !wanted.has(s); s = await parentOf(s).catch(() => null)) wanted.add(s);
  }
  const into = setAsideDirOf(dir);
  const created = await sfs.mkdir(into, 0o700).then(() => true, (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
    return false;
  });
  const there = new Set(await sfs.readdir(into));
  const linked: string[] = [];
  for (const name of (await sfs.readdir(dir)).sort()) {
    const named = parseGenerationFileName(name);
    if (named === null || !wanted.has(named.sequence) || there.has(name)) continue;
    await sfs.link(join(dir, name), join(into, name));
    linked.push(name);
  }
  // The links first, then the name of the directory that holds them.
  if (linked.length > 0) await fsyncDirectoryWith(sfs, into);
  if (created || linked.length > 0) await fsyncDirectoryWith(sfs, dir);
  return linked;
}
