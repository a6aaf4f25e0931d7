// shm-host list: the generations of a snapshot directory, newest first.
import type { Generation, ListedGeneration, SalvageRecord, SnapshotStore } from '../store/index.js';
import { defineCommand, type CommandContext } from './command.js';
import { withDir, withJson, exampleLines } from './options.js';
import { aroundOrphans, orphanLine } from './orphans.js';
import { listReplica, withReplicaConnection } from './replica-list.js';
import { openReadOnly } from './source.js';
import { humanBytes, shortTime, table } from './text.js';

type CheckState = 'ok' | 'bad' | 'unchecked';

/** One row of `list --json`. */
export interface ListRow {
  readonly sequence: number;
  readonly time: string | null;
  readonly reason: string | null;
  readonly imageSize: number | null;
  readonly configured: boolean | null;
  readonly records: number | null;
  readonly latest: { readonly offset: string; readonly length: number } | null;
  readonly writeOffset: string | null;
  readonly checksum: { readonly algorithm: string; readonly value: string } | null;
  /**
   * `ok`/`bad` after --verify; without it `unchecked`, or `bad` when a file it needs (its own data file, its
   * chain's) is missing or not at its manifest's size; `bad` when the manifest cannot be read.
   */
  readonly state: CheckState;
  readonly problem: string | null;
  readonly image: string;
  readonly manifest: string;
  /** `full` or `delta` (null when the manifest cannot be read). */
  readonly kind: 'full' | 'delta' | null;
  /** The generation a delta applies to. */
  readonly parent: number | null;
  /** Bytes the generation's own data file takes on disk (allocated blocks: holes cost nothing), null when it is missing. */
  readonly diskBytes: number | null;
  /** The manifest's salvage record (an import that took a damaged export's bytes), or null. */
  readonly salvaged: SalvageRecord | null;
}

function row(listed: ListedGeneration, state: CheckState, problem: string | null, diskBytes: number | null): ListRow {
  if (!listed.ok) {
    return {
      sequence: listed.sequence, time: null, reason: null, imageSize: null, configured: null, records: null, latest: null,
      writeOffset: null, checksum: null, state: 'bad', problem: listed.reason, image: listed.imagePath, manifest: listed.manifestPath,
      kind: null, parent: null, diskBytes, salvaged: null,
    };
  }
  const m = listed.manifest;
  return {
    sequence: listed.sequence, time: m.time, reason: m.reason, imageSize: m.imageSize, configured: m.configured, records: m.records,
    latest: m.latest, writeOffset: m.writeOffset, checksum: m.checksum, state, problem, image: listed.imagePath, manifest: listed.manifestPath,
    kind: m.kind, parent: m.parent, diskBytes, salvaged: m.salvaged ?? null,
  };
}

/**
 * Why `g` cannot be read, without reading image bytes (stat(2), and its manifests once more):
 * a file of it or of its chain missing or not at its manifest's size; null
 * when each is there. Its chain is taken from the listing; a link the
 * listing lacks is left to the store to resolve and word.
 */
async function filesProblem(store: SnapshotStore, g: Generation, bySequence: ReadonlyMap<number, ListedGeneration>): Promise<string | null> {
  const chain: Generation[] = [g];
  for (let link: Generation = g; link.manifest.kind === 'delta' && chain.length <= bySequence.size;) {
    const parent = bySequence.get(link.manifest.parent!);
    if (parent === undefined || !parent.ok) break;
    chain.push((link = parent));
  }
  const whole = chain.at(-1)!.manifest.kind === 'full';
  return store.chainProblem(g, whole ? chain : null);
}

export const listCommand = defineCommand({
  command: 'list',
  describe: 'List the generations in the snapshot directory, newest first',
  builder: (yargs) =>
    withReplicaConnection(withJson(withDir(yargs)))
      .option('verify', { type: 'boolean', default: false, describe: 'Check every image (checksum, layout, records); exit 1 if one is bad' })
      .option('replica', { type: 'string', requiresArg: true, describe: 'List the generations on this replica (s3://BUCKET/PREFIX or file:///path) instead of --dir' })
      .example(exampleLines('shm-host list --json | jq -r \'.generations[0].image\'', 'Path of the newest image'))
      .example(exampleLines('shm-host list --verify', 'Check every generation'))
      .example(exampleLines('shm-host list --replica s3://bucket/app', 'The generations on a replica')),
  handler: async (args, ctx) => {
    if (args.replica !== undefined) return listReplica(args.replica, args, ctx);
    const store = await openReadOnly(args.dir);
    try {
      const { value: rows, orphans } = await aroundOrphans(store, () => listRows(store, args.verify, args.json, ctx));
      const exitCode = rows.some((r) => r.state === 'bad') ? 1 : 0;
      if (args.json) {
        await ctx.out.json({ dir: store.dir, generations: rows, orphans });
        return exitCode;
      }
      const notes = orphans.map(orphanLine).join('');
      if (rows.length === 0) {
        await ctx.out.write(`no generations in ${store.dir} yet\n${notes}`);
        return 0;
      }
      const text = table(
        ['SEQ', 'TIME', 'REASON', 'KIND', 'PARENT', 'SIZE', 'ON DISK', 'CHECK', 'RECORDS', 'LATEST', 'LENGTH', 'IMAGE'],
        rows.map((r) => [
          String(r.sequence), r.time === null ? '-' : shortTime(r.time), r.reason === null ? '-' : r.salvaged === null ? r.reason : `${r.reason} (salvaged)`, r.kind ?? '-', r.parent === null ? '-' : String(r.parent),
          r.imageSize === null ? '-' : humanBytes(r.imageSize), r.diskBytes === null ? '-' : humanBytes(r.diskBytes),
          r.state, r.records === null ? '-' : String(r.records), r.latest?.offset ?? '-', r.latest === null ? '-' : String(r.latest.length), r.image,
        ]),
        ['right', 'left', 'left', 'left', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'left'],
      );
      const problems = rows.filter((r) => r.problem !== null).map((r) => `generation ${r.sequence}: bad: ${r.problem}\n`);
      await ctx.out.write(text + problems.join('') + notes);
      return exitCode;
    } finally {
      await store.close();
    }
  },
});

/** The rows of the generations in `store`, newest first (with `verify`, each image checked). */
async function listRows(store: SnapshotStore, verify: boolean, json: boolean, ctx: CommandContext): Promise<ListRow[]> {
  const listed = await store.list();
  const rows: ListRow[] = [];
  const total = verify ? listed.reduce((sum, g) => sum + (g.ok ? g.manifest.imageSize : 0), 0) : 0;
  const progress = ctx.progress('verifying', total, { json });
  const bySequence = new Map(listed.map((g) => [g.sequence, g]));
  try {
    for (const g of listed) {
      // Pruned by a running host since the directory was read: it no longer exists, so it is not listed.
      if (!g.ok && (await store.gone(g))) continue;
      if (!g.ok) {
        rows.push(row(g, 'bad', null, await store.diskBytes(g)));
        continue;
      }
      if (!verify) {
        const problem = await filesProblem(store, g, bySequence);
        if (problem !== null && (await store.gone(g))) continue;
        rows.push(row(g, problem === null ? 'unchecked' : 'bad', problem, await store.diskBytes(g)));
        continue;
      }
      const verdict = await store.verify(g);
      progress.advance(g.manifest.imageSize);
      if (!verdict.ok && (await store.gone(g))) continue;
      rows.push(verdict.ok ? row(g, 'ok', null, await store.diskBytes(g)) : row(g, 'bad', verdict.reason, await store.diskBytes(g)));
    }
  } finally {
    progress.finish();
  }
  return rows;
}
