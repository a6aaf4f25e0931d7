// shm-host snapshot: asks the running host for a capture now, over its live
// channel; with --wait, prints the new generation once it is durable.
import { requestSnapshot, type SnapshotResult } from '../host/control/index.js';
import { defineCommand } from './command.js';
import { withDir, withJson, exampleLines } from './options.js';
import { MAX_TIMER, parseTimer } from './values.js';

export const snapshotCommand = defineCommand({
  command: 'snapshot',
  describe: 'Ask the running host for a capture now (exit 3 when no host runs on --dir)',
  builder: (yargs) =>
    withJson(withDir(yargs))
      .option('wait', { type: 'boolean', default: false, describe: 'Wait until the capture is durable and print its sequence' })
      .option('timeout', { type: 'string', requiresArg: true, defaultDescription: '5s, with --wait 10m', describe: `How long to wait for the host, 0 to ${MAX_TIMER.text}` })
      .example(exampleLines('shm-host snapshot --wait && shm-host export latest backup.shmx', 'Capture now, then keep it'))
      .example(exampleLines('shm-host snapshot --wait --json | jq .sequence', 'The sequence of the new generation')),
  handler: async (args, ctx) => {
    const timeoutMs = parseTimer('--timeout', args.timeout ?? (args.wait ? '10m' : '5s'));
    const reply = await requestSnapshot(args.dir, args.wait, timeoutMs);
    if (!args.wait) {
      if (args.json) await ctx.out.json({ accepted: true });
      else await ctx.out.write(`capture requested from the host on ${args.dir} (use --wait to wait until it is durable)\n`);
      return 0;
    }
    const { sequence } = reply as SnapshotResult;
    if (args.json) await ctx.out.json({ sequence, durable: true });
    else await ctx.out.write(`generation ${sequence} is durable\n`);
    return 0;
  },
});
