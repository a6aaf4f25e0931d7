// shm-host restore --from URL --dir DIR: the newest generation of a replica
// whose chain verifies, downloaded into an empty local directory.
import { defineCommand } from './command.js';
import { exampleLines, withDir, withJson } from './options.js';
import { openReplicaFromArgs, replicaFailure, withReplicaConnection } from './replica-options.js';
import { UsageError } from './errors.js';
import { lockedFailure, undoingNewDirectory } from './writable-store.js';

export const restoreCommand = defineCommand({
  command: 'restore',
  describe: 'Download the newest replicated generation that verifies, with the generations it depends on, into an empty directory',
  builder: (yargs) =>
    withReplicaConnection(withJson(withDir(yargs)))
      .option('from', { type: 'string', demandOption: true, requiresArg: true, describe: 'The replica: s3://BUCKET/PREFIX or file:///path' })
      .option('sequence', { type: 'string', requiresArg: true, defaultDescription: 'the newest that verifies', describe: 'Restore this generation (its sequence number, 1 or more), with what it depends on' })
      .example(exampleLines('shm-host restore --from s3://bucket/app --dir ./state', 'Fill an empty ./state from the replica, then start a host on it'))
      .example(exampleLines('shm-host --dir ./state --replica s3://bucket/app -- node app.js', 'The same, done by a host that replicates: an empty --dir is restored first')),
  handler: async (args, ctx) => {
    // Digits only: Number() would also take `0x10`, `1e1` or ` 12 `.
    const sequence = args.sequence === undefined ? undefined : /^[0-9]+$/.test(args.sequence) ? Number(args.sequence) : Number.NaN;
    if (sequence !== undefined && (!Number.isSafeInteger(sequence) || sequence < 1)) throw new UsageError(`--sequence ${args.sequence}: not a generation number`, 'e.g. --sequence 12 (shm-host list --replica URL lists them)');
    const client = await openReplicaFromArgs('--from', args.from, args);
    const { restoreFromReplica, verifyStoreGeneration } = await import('../replica/index.js');
    try {
      const result = await undoingNewDirectory(args.dir, 'restore', () => restoreFromReplica({
        client, dir: args.dir, verify: verifyStoreGeneration,
        ...(sequence === undefined ? {} : { sequence }),
        onFallback: (s, reason) => ctx.io.stderr.write(`shm-host: replica generation ${s} passed over: ${reason}\n`),
      }));
      const g = result.generation;
      if (args.json) await ctx.out.json({ dir: args.dir, sequence: g.sequence, offset: g.offset, chain: result.chain, files: result.files, fallbacks: result.fallbacks });
      else await ctx.out.write(`restored generation ${g.sequence} (offset ${g.offset ?? 'none'}, ${result.files.length} files) from ${args.from} into ${args.dir}\n`);
      return 0;
    } catch (err) {
      throw replicaFailure(lockedFailure(err, 'restore', args.dir));
    } finally {
      client.close();
    }
  },
});
