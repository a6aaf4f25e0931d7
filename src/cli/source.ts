// What a `<ref>` names: a generation of the store (`7`, `latest`,
// `latest~2`), or a file given by path: an image in some store directory,
// a bare image anywhere, or an export file.
import fs from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import {
  EXPORT_HEADER_SIZE, ImageFile, SnapshotStore, looksLikeDelta, looksLikeExport, parseGenerationFileName, type Generation, type ListedGeneration, type Manifest,
} from '../store/index.js';
import { openGenerationImage } from './salvage.js';
import { CommandFailure, UsageError } from './errors.js';
import { exportSource, loneDelta, readStart, type CommandFor } from './file-source.js';
import { REF_HELP } from './options.js';

/** A parsed `<ref>`. */
export type Ref =
  | { readonly kind: 'sequence'; readonly sequence: number }
  | { readonly kind: 'latest'; readonly back: number }
  | { readonly kind: 'path'; readonly path: string };


/** Parses `<ref>`: digits are a sequence (write ./7 for a file named 7), latest[~N], anything else a path. */
export function parseRef(text: string): Ref {
  if (/^[0-9]+$/.test(text)) {
    const sequence = Number(text);
    if (!Number.isSafeInteger(sequence) || sequence < 1) throw new UsageError(`${text} is not a generation sequence number`, `sequences start at 1; ${REF_HELP}`);
    return { kind: 'sequence', sequence };
  }
  const latest = /^latest(?:~([0-9]+))?$/.exec(text);
  if (latest) {
    const back = latest[1] === undefined ? 0 : Number(latest[1]);
    if (!Number.isSafeInteger(back)) throw new UsageError(`${text}: the number after ~ is too large`, REF_HELP);
    return { kind: 'latest', back };
  }
  if (text === '') throw new UsageError('the <ref> is empty', REF_HELP);
  return { kind: 'path', path: text };
}

/** A snapshot to read, wherever it lives. close() releases what resolving it opened. */
export interface Source {
  readonly kind: 'generation' | 'image' | 'export';
  /** How messages name it: `generation 7 in DIR`, `image FILE`, `export FILE`. */
  readonly label: string;
  /** The image file (for an export: the export file). */
  readonly path: string;
  readonly generation: Generation | null;
  readonly manifest: Manifest | null;
  /** The read-only store the generation belongs to, to verify it. */
  readonly store: SnapshotStore | null;
  /** Named relative to the newest (`latest~N`): resolving again may name another generation. */
  readonly relative: boolean;
  /** Opens the image for reading. */
  openImage(): Promise<ImageFile>;
  close(): Promise<void>;
}

/** Opens the store in `dir` for reading only: no lock, no writes, so it works beside a running host. */
export function openReadOnly(dir: string): Promise<SnapshotStore> {
  return SnapshotStore.open(dir, { readOnly: true });
}

/** How often `latest~N` is resolved again when a running host pruned the generation it named meanwhile. */
export const PRUNED_RETRIES = 5;

const isGone = (err: unknown): boolean => err instanceof CommandFailure && err.code === 'GONE';

/** How a command resolves a `<ref>` (resolveSource). */
export interface ResolveOptions {
  /** The command line a refused file's hint says to run instead (default: show). */
  readonly command?: CommandFor;
  /**
   * --ignore-checksum: given (true: a delta's chain is opened without its
   * files' checksums, salvage.ts), not given (false), or not an option of
   * this command (null, the default: no hint suggests it).
   */
  readonly salvage?: boolean | null;
  /**
   * Whether the command reads the image through the source (default true).
   * Then `latest~N` is opened at once; verify, which checks a generation
   * through the store and reports what it finds as a row, passes false.
   */
  readonly readsImage?: boolean;
}

/**
 * Resolves `text` against the store in `dir` (used only for store refs).
 * For `latest~N` the image is opened at once (unless `readsImage` is
 * false), and when a running host deleted it between the listing and the
 * open, resolved again: the command then reads whatever is newest, never
 * fails on a race it cannot see.
 */
export async function resolveSource(text: string, dir: string, options: ResolveOptions = {}): Promise<Source> {
  const { command = (ref: string) => `shm-host show ${ref}`, salvage = null, readsImage = true } = options;
  const ref = parseRef(text);
  if (ref.kind === 'path') return resolvePath(ref.path, text, command, salvage);
  const store = await openReadOnly(dir);
  try {
    for (let attempt = 0; ; attempt++) {
      const generation = await findGeneration(store, ref, text);
      const source = generationSource(store, generation, ref.kind === 'latest', salvage);
      if (ref.kind !== 'latest' || !readsImage) return source;
      try {
        return withOpenImage(source, await source.openImage());
      } catch (err) {
        if (!isGone(err) || attempt >= PRUNED_RETRIES) throw err;
      }
    }
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** `source` whose first openImage() returns `image`, already open (closed by close() if never taken). */
function withOpenImage(source: Source, image: ImageFile): Source {
  let held: ImageFile | null = image;
  return {
    ...source,
    openImage: async () => {
      const taken = held;
      held = null;
      return taken ?? source.openImage();
    },
    close: async () => {
      await held?.close();
      held = null;
      await source.close();
    },
  };
}

/** A listed generation whose manifest was read. */
type ReadableGeneration = Extract<ListedGeneration, { ok: true }>;

async function findGeneration(store: SnapshotStore, ref: Exclude<Ref, { kind: 'path' }>, text: string): Promise<Generation> {
  if (ref.kind === 'sequence') return store.get(ref.sequence);
  for (let attempt = 0; ; attempt++) {
    const listed = await store.list();
    if (listed.length === 0) {
      // Data files without their manifests (deleted by mistake?) are said here too: the next host start deletes them.
      const orphans = await store.orphans();
      if (orphans.length > 0) {
        const files = orphans.map((o) => basename(o.path)).join(', ');
        throw new CommandFailure('NOT_FOUND', `there are no generations in ${store.dir}, only data files no manifest names (${files})`, 'the next start of a host on it deletes them; see shm-host list for how to keep them');
      }
      throw new CommandFailure('NOT_FOUND', `there are no generations in ${store.dir} yet`, 'a host stores one once its child has committed; see shm-host list');
    }
    // latest~N counts generations only: a file named like a manifest that
    // holds none (another program's, or damage, which list reports) is not
    // one, and a manifest deleted meanwhile was pruned.
    const live = listed.filter((g): g is ReadableGeneration => g.ok);
    const entry = live[ref.back];
    // A busy host may prune every listed generation before its manifest is read: read the directory again.
    if (entry === undefined && attempt < PRUNED_RETRIES && (await anyGone(store, listed))) continue;
    return liveEntry(store, text, live, entry);
  }
}

/** True when an unreadable entry of `listed` is gone (pruned since the listing). */
async function anyGone(store: SnapshotStore, listed: readonly ListedGeneration[]): Promise<boolean> {
  for (const g of listed) if (!g.ok && (await store.gone(g))) return true;
  return false;
}

/** The generation `entry` of the listing names, or why there is none to read. */
function liveEntry(store: SnapshotStore, text: string, live: ReadableGeneration[], entry: ReadableGeneration | undefined): Generation {
  if (entry === undefined) {
    throw new CommandFailure('NOT_FOUND', `${text} does not exist: ${store.dir} holds ${live.length} generation${live.length === 1 ? '' : 's'}`, live.length === 0 ? 'see shm-host list' : `use latest~0 to latest~${live.length - 1}; see shm-host list`);
  }
  const { ok: _ok, ...generation } = entry;
  return generation;
}

function generationSource(store: SnapshotStore, generation: Generation, relative: boolean, salvage: boolean | null): Source {
  const label = `generation ${generation.sequence}`;
  return {
    kind: 'generation',
    label,
    path: generation.imagePath,
    generation,
    manifest: generation.manifest,
    store,
    relative,
    openImage: async () => {
      try {
        // A delta reads as the whole image it stands for: cat, show and export never see a delta file.
        return await openGenerationImage(store, generation, salvage);
      } catch (err) {
        // A chain link deleted meanwhile is a pruned generation too, once its own manifest is gone.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || ((err as { code?: string }).code === 'CORRUPT' && (await store.gone(generation)))) {
          throw new CommandFailure('GONE', `the image of ${label} is gone (pruned by the host while this command ran?)`, 'run the command again', { cause: err });
        }
        throw err;
      }
    },
    close: async () => store.close(),
  };
}

async function resolvePath(path: string, text: string, command: CommandFor, salvage: boolean | null): Promise<Source> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && /^latest|~/.test(text)) throw new UsageError(`${text} is not a valid <ref>`, REF_HELP);
    if (code === 'ENOENT') throw new CommandFailure('NOT_FOUND', `no such file: ${path}`, REF_HELP, { cause: err });
    throw err;
  }
  if (stat.isDirectory()) throw new CommandFailure('NOT_A_FILE', `${path} is a directory, not an image`, `to inspect a snapshot directory use --dir ${path}`);
  // An image in a store directory: read it with its manifest.
  const named = parseGenerationFileName(basename(path));
  if (named !== null && (named.kind === 'image' || named.kind === 'delta')) {
    const store = await openReadOnly(dirname(resolve(path)));
    try {
      return generationSource(store, await store.get(named.sequence), false, salvage);
    } catch (err) {
      await store.close();
      // No manifest of its generation beside it (copied alone): an image reads as a bare one,
      // as under any other name; a delta is refused below, as a lone one.
      if ((err as { code?: unknown }).code !== 'NOT_FOUND') throw err;
    }
  }
  const head = await readStart(path, EXPORT_HEADER_SIZE);
  if (looksLikeExport(head)) return exportSource(path, head, stat.size);
  if (looksLikeDelta(head)) throw loneDelta(path, command);
  return {
    kind: 'image',
    label: `image ${path}`,
    path,
    generation: null,
    manifest: null,
    store: null,
    relative: false,
    openImage: () => ImageFile.open(path),
    close: async () => {},
  };
}
