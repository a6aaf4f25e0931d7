// Reading a snapshot directory: which generations it holds, what debris
// interrupted writes left, and each manifest's text (untrusted input).
import fs from 'node:fs';
import { errorCode, storeIoError } from './errors.js';
import type { StoreFs } from './fs.js';
import { MAX_MANIFEST_BYTES, ManifestError } from './manifest.js';
import { isTemporaryName, parseGenerationFileName } from './names.js';

/** What the directory holds, by sequence. */
export interface DirectoryScan {
  /** Sequences with a manifest, newest first. */
  readonly sequences: number[];
  /** Images whose manifest was never committed (or is being deleted). */
  readonly orphanImages: number[];
  /** Delta files whose manifest was never committed (or is being deleted). */
  readonly orphanDeltas: number[];
  readonly temporaries: string[];
  /** The highest sequence any file names (0 for none): new ones go above it. */
  readonly highest: number;
}

/** True when `path` is gone (stat(2): ENOENT); any other answer counts as there. */
export async function isGone(sfs: StoreFs, path: string): Promise<boolean> {
  try {
    await sfs.stat(path);
    return false;
  } catch (err) {
    return errorCode(err) === 'ENOENT';
  }
}

/** Bytes `path` takes on disk (st_blocks * 512: holes cost nothing), or null when stat(2) fails. */
export async function diskBytesOf(sfs: StoreFs, path: string): Promise<number | null> {
  try {
    return (await sfs.stat(path)).blocks * 512;
  } catch {
    return null;
  }
}

/** Lists `dir` by the names of its files. */
export async function scanDirectory(sfs: StoreFs, dir: string): Promise<DirectoryScan> {
  let names: string[];
  try {
    names = await sfs.readdir(dir);
  } catch (err) {
    throw storeIoError('read snapshot directory', dir, err);
  }
  const manifests = new Set<number>();
  const images = new Set<number>();
  const deltas = new Set<number>();
  const temporaries: string[] = [];
  let highest = 0;
  for (const name of names) {
    if (isTemporaryName(name)) {
      temporaries.push(name);
      continue;
    }
    const parsed = parseGenerationFileName(name);
    if (!parsed) continue;
    (parsed.kind === 'manifest' ? manifests : parsed.kind === 'image' ? images : deltas).add(parsed.sequence);
    highest = Math.max(highest, parsed.sequence);
  }
  const sequences = [...manifests].sort((a, b) => b - a);
  const orphanImages = [...images].filter((s) => !manifests.has(s));
  const orphanDeltas = [...deltas].filter((s) => !manifests.has(s));
  return { sequences, orphanImages, orphanDeltas, temporaries, highest };
}

/** The manifest's text, refusing anything too large to be one (untrusted input must not exhaust memory). */
export async function readManifestText(sfs: StoreFs, path: string): Promise<string> {
  // O_NONBLOCK: a FIFO planted under a manifest's name must not hang the open.
  const fd = await sfs.open(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    const stat = await sfs.fstat(fd);
    if (!stat.isFile()) throw new ManifestError('the manifest is not a regular file');
    if (stat.size > MAX_MANIFEST_BYTES) throw new ManifestError(`the manifest has ${stat.size} bytes, far more than a manifest holds`);
    const buf = Buffer.alloc(stat.size);
    const n = await sfs.read(fd, buf, 0, stat.size, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    await sfs.close(fd);
  }
}

/** Why a manifest could not be used, in one line. */
export function manifestProblem(err: unknown): string {
  if (err instanceof ManifestError) return err.message;
  const code = errorCode(err);
  if (code === 'ENOENT') return 'the manifest disappeared while it was read (pruned?)';
  if (code === 'ELOOP') return 'the manifest is a symbolic link';
  return `the manifest cannot be read (${code ?? (err instanceof Error ? err.message : String(err))})`;
}

