// shm-host verify [<ref>|--all]: checksum, sizes, layout and every valid
// record's bounds; what is wrong, per generation; exit 1 if anything is.
import fs from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { FormatError } from '../format/index.js';
import {
  ExportFormatError, StoreError, imageDisagreement, parseGenerationFileName, readExport, type ListedGeneration, type SnapshotStore,
} from '../store/index.js';
import { defineCommand, type CommandContext } from './command.js';
import { UsageError } from './errors.js';
import { REF_HELP, withDir, withJson, exampleLines } from './options.js';
import { aroundOrphans, orphanLine, type OrphanRow } from './orphans.js';
import type { Progress } from './progress.js';
import { PRUNED_RETRIES, openReadOnly, parseRef, resolveSource, type Source } from './source.js';

/** One verified snapshot, as `verify --json` prints it. */
export interface VerifyResult {
  readonly kind: Source['kind'];
  readonly sequence: number | null;
  readonly path: string;
  readonly ok: boolean;
  readonly problem: string | null;
}

const result = (source: Pick<Source, 'kind' | 'path'>, sequence: number | null, problem: string | null): VerifyResult =>
  ({ kind: source.kind, sequence, path: source.path, ok: problem === null, problem });

/** A bare image: no manifest, so layout and records only. */
async function verifyImage(source: Source, progress: Progress): Promise<string | null> {
  const image = await source.openImage();
  try {
    await image.inspect();
    progress.advance(image.size);
    return null;
  } catch (err) {
    if (err instanceof FormatError) return err.problem;
    throw err;
  } finally {
    await image.close();
  }
}

/** An export: its SHA-256 and image checksum in one pass, then its image's layout against its manifest. */
async function verifyExport(source: Source, progress: Progress): Promise<string | null> {
  try {
    await readExport(fs.createReadStream(source.path, { highWaterMark: 1 << 20 }), (chunk) => progress.advance(chunk.length));
    const image = await source.openImage();
    try {
      return imageDisagreement(await image.inspect({ raw: source.manifest?.configured === false }), source.manifest!);
    } finally {
      await image.close();
    }
  } catch (err) {
    if (err instanceof FormatError || err instanceof ExportFormatError) return err.problem;
    throw err;
  }
}

async function verifySource(source: Source, progress: Progress): Promise<VerifyResult> {
  const sequence = source.manifest?.sequence ?? null;
  switch (source.kind) {
    case 'generation': {
      const verdict = await source.store!.verify(source.generation!);
      progress.advance(source.generation!.manifest.imageSize);
      return result(source, sequence, verdict.ok ? null : verdict.reason);
    }
    case 'image':
      return result(source, null, await verifyImage(source, progress));
    case 'export':
      return result(source, sequence, await verifyExport(source, progress));
  }
}

async function verifyAll(store: SnapshotStore, listed: readonly ListedGeneration[], progress: Progress): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const g of listed) {
    const source = { kind: 'generation' as const, path: g.imagePath };
    // A running host may prune while this runs: a generation gone meanwhile is not a damaged one.
    if (!g.ok && (await store.gone(g))) continue;
    if (!g.ok) {
      results.push(result(source, g.sequence, g.reason));
      continue;
    }
    const verdict = await store.verify(g);
    progress.advance(g.manifest.imageSize);
    if (!verdict.ok && (await store.gone(g))) continue;
    results.push(result(source, g.sequence, verdict.ok ? null : verdict.reason));
  }
  return results;
}

/**
 * Verifies what `ref` names. For `latest~N`, a generation that a running
 * host pruned while it was being verified is not reported as damaged: the
 * ref is resolved again and the generation now named is verified instead.
 */
async function verifyRef(ref: string, dir: string, ctx: CommandContext, json: boolean): Promise<VerifyResult> {
  for (let attempt = 0; ; attempt++) {
    let source: Source;
    try {
      source = await resolveSource(ref, dir, { command: (r) => `shm-host verify ${r}`, readsImage: false });
    } catch (err) {
      // A generation that exists but cannot be read is a bad one, as --all reports it; a ref that names none stays an error.
      const unreadable = err instanceof StoreError && err.code === 'BAD_MANIFEST' ? await unreadableResult(ref, dir) : null;
      if (unreadable === null) throw err;
      return unreadable;
    }
    try {
      const progress = ctx.progress('verifying', sizeOf(source), { json });
      let result: VerifyResult;
      try {
        result = await verifySource(source, progress);
      } finally {
        progress.finish();
      }
      const raced = !result.ok && source.relative && source.generation !== null && source.store !== null && (await source.store.gone(source.generation));
      if (!raced || attempt >= PRUNED_RETRIES) return result;
    } finally {
      await source.close();
    }
  }
}

/**
 * The bad result verify --all gives for the generation `ref` names (a
 * sequence of `dir`, or a gen-* file in some snapshot directory) when the
 * listing holds it but its manifest cannot be read (not JSON, another
 * generation's...); null when it names none.
 */
async function unreadableResult(ref: string, dir: string): Promise<VerifyResult | null> {
  const parsed = parseRef(ref);
  let sequence: number;
  if (parsed.kind === 'sequence') {
    sequence = parsed.sequence;
  } else if (parsed.kind === 'path') {
    const named = parseGenerationFileName(basename(parsed.path));
    if (named === null || (named.kind !== 'image' && named.kind !== 'delta')) return null;
    sequence = named.sequence;
    dir = dirname(resolve(parsed.path));
  } else {
    return null;
  }
  const store = await openReadOnly(dir);
  try {
    const entry = (await store.list()).find((g) => g.sequence === sequence);
    return entry === undefined || entry.ok ? null : result({ kind: 'generation', path: entry.imagePath }, sequence, entry.reason);
  } finally {
    await store.close();
  }
}

const sizeOf = (source: Source): number => {
  if (source.manifest) return source.manifest.imageSize;
  try {
    return fs.statSync(source.path).size;
  } catch {
    return 0;
  }
};

export const verifyCommand = defineCommand({
  command: 'verify [ref]',
  describe: 'Check generations: checksum, sizes, layout, every record\'s bounds and each link of a delta\'s chain (default: latest)',
  builder: (yargs) =>
    withJson(withDir(yargs))
      .positional('ref', { type: 'string', defaultDescription: 'latest', describe: REF_HELP })
      .option('all', { type: 'boolean', default: false, describe: 'Check every generation' })
      .example(exampleLines('shm-host verify --all || alert "snapshots damaged"', 'A cron check'))
      .example(exampleLines('shm-host verify ./state.shmx', 'Check an export file before moving it')),
  handler: async (args, ctx) => {
    if (args.all && args.ref !== undefined) throw new UsageError(`give either a <ref> (${args.ref}) or --all, not both`, 'see shm-host verify --help');
    let results: VerifyResult[];
    let orphans: OrphanRow[] = [];
    if (args.all) {
      const store = await openReadOnly(args.dir);
      try {
        ({ value: results, orphans } = await aroundOrphans(store, async () => {
          const listed = await store.list();
          const progress = ctx.progress('verifying', listed.reduce((sum, g) => sum + (g.ok ? g.manifest.imageSize : 0), 0), { json: args.json });
          try {
            return await verifyAll(store, listed, progress);
          } finally {
            progress.finish();
          }
        }));
      } finally {
        await store.close();
      }
    } else {
      const ref = args.ref ?? 'latest';
      // A generation of --dir: the directory's orphans too. A file named by its path: that file only.
      const store = parseRef(ref).kind === 'path' ? null : await openReadOnly(args.dir);
      try {
        const verifyOne = async (): Promise<VerifyResult[]> => [await verifyRef(ref, args.dir, ctx, args.json)];
        if (store === null) results = await verifyOne();
        else ({ value: results, orphans } = await aroundOrphans(store, verifyOne));
      } finally {
        await store?.close();
      }
    }
    const ok = results.every((r) => r.ok);
    if (args.json) {
      await ctx.out.json({ ok, results, orphans });
    } else if (results.length === 0) {
      await ctx.out.write(`no generations to verify\n${orphans.map(orphanLine).join('')}`);
    } else {
      const name = (r: VerifyResult): string => (r.kind === 'generation' ? `generation ${r.sequence}` : `${r.kind} ${r.path}`);
      await ctx.out.write(results.map((r) => `${name(r)}: ${r.ok ? 'ok' : `bad: ${r.problem}`}\n`).join('') + orphans.map(orphanLine).join(''));
    }
    return ok ? 0 : 1;
  },
});
