// What the replicator ships: an abstract local generation, described by the
// store. The replicator never parses the store's files; it copies them.

/** One file of a local generation: its name in the snapshot directory, its path, its size in bytes. */
export interface LocalGenerationFile {
  name: string;
  path: string;
  bytes: number;
}

/**
 * A durable local generation as the store describes it.
 * - `sequence`: the generation's sequence number (positive integer, increasing).
 * - `parent`: for a delta, the sequence of the generation it depends on;
 *   absent for a full generation (which needs no other).
 * - `offset`: the commit-log offset the generation holds durably
 *   (`durable_offset` in docs/FORMAT.md), a decimal string like the
 *   manifest's offsets (they can pass 2^53); opaque here, reported once
 *   replicated.
 * - `files`: its data files, uploaded first, in any order.
 * - `manifest`: its manifest file, uploaded after every data file.
 * Files must not change once described (generations are immutable).
 */
export interface LocalGeneration {
  sequence: number;
  parent?: number;
  offset?: string;
  files: LocalGenerationFile[];
  manifest: LocalGenerationFile;
}

/** What the store gives the replicator: its durable generations, oldest first. */
export interface GenerationSource {
  generations(): Promise<LocalGeneration[]>;
}

/** Total bytes of a generation's files, manifest included. */
export function generationBytes(g: LocalGeneration): number {
  return g.files.reduce((n, f) => n + f.bytes, g.manifest.bytes);
}

const FILE_NAME = /^[^/\0]+$/;

/**
 * Checks the shape of a generation description.
 * @throws RangeError naming the field: a bug in the store's adapter, not a user error.
 */
export function checkGeneration(g: LocalGeneration): LocalGeneration {
  const seq = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 1;
  if (!seq(g.sequence)) throw new RangeError(`generation sequence must be a positive integer, got ${g.sequence}`);
  if (g.offset !== undefined && !/^\d+$/.test(g.offset)) throw new RangeError(`generation ${g.sequence}: offset must be a decimal string, got ${JSON.stringify(g.offset)}`);
  if (g.parent !== undefined && (!seq(g.parent) || g.parent >= g.sequence)) throw new RangeError(`generation ${g.sequence}: parent ${g.parent} must be an older sequence`);
  const names = new Set<string>();
  for (const f of [...g.files, g.manifest]) {
    if (!FILE_NAME.test(f.name) || f.name === '.' || f.name === '..' || names.has(f.name)) throw new RangeError(`generation ${g.sequence}: bad or repeated file name ${JSON.stringify(f.name)}`);
    if (!Number.isSafeInteger(f.bytes) || f.bytes < 0) throw new RangeError(`generation ${g.sequence}: file ${f.name} has a bad size ${f.bytes}`);
    names.add(f.name);
  }
  return g;
}
