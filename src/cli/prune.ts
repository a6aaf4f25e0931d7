// shm-host prune --keep N: deletes all but the newest N generations and
// what they depend on (a delta's chain), never the newest one that verifies. Like import, it takes the directory's lock:
// a running host prunes by its own --keep, so a directory in use is refused.
import { MIN_KEEP } from '../store/index.js';
import { defineCommand } from './command.js';
import { UsageError } from './errors.js';
import { withDir, withJson, exampleLines } from './options.js';
import { openForWriting } from './writable-store.js';

export const pruneCommand = defineCommand({
  command: 'prune',
  describe: 'Delete all but the newest --keep generations and the ones they depend on (never the newest one that verifies)',
  builder: (yargs) =>
    withJson(withDir(yargs))
      .option('keep', { type: 'string', demandOption: true, requiresArg: true, describe: `Generations to keep (at least ${MIN_KEEP}), with the generations they depend on` })
      .example(exampleLines('shm-host prune --keep 2', 'Keep the two newest generations')),
  handler: async (args, ctx) => {
    const keep = /^[0-9]+$/.test(args.keep) ? Number(args.keep) : Number.NaN;
    if (!Number.isSafeInteger(keep) || keep < MIN_KEEP) {
      throw new UsageError(`--keep ${args.keep}: not a whole number of at least ${MIN_KEEP}`, `e.g. --keep ${MIN_KEEP}: one bad write must never leave nothing to restore`);
    }
    const store = await openForWriting(args.dir, 'prune', ctx.io.stderr, false);
    try {
      const deleted = await store.prune(keep);
      const kept = (await store.list()).filter((g) => g.ok).map((g) => g.sequence);
      if (args.json) {
        await ctx.out.json({ dir: store.dir, deleted, kept });
        return 0;
      }
      // More kept than --keep: say why, or it reads as a prune that did not work.
      const why = kept.length > keep ? ` (past --keep ${keep}: what the newest ${keep} depend on, or the newest that verifies)` : '';
      if (deleted.length === 0) await ctx.out.write(`nothing to delete: ${store.dir} holds ${kept.length} generation${kept.length === 1 ? '' : 's'}${why}\n`);
      else await ctx.out.write(`deleted generation${deleted.length === 1 ? '' : 's'} ${deleted.join(', ')}; kept ${kept.join(', ')}${why}\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
});
