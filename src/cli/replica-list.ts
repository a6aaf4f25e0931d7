// `shm-host list --replica URL`: the generations on a replica, newest first.
import type { CommandContext } from './command.js';
import { openReplicaFromArgs, replicaFailure } from './replica-options.js';
import { humanBytes, shortTime, table } from './text.js';

export { withReplicaConnection } from './replica-options.js';

/** Lists replica `url` as text or (`args.json`) `{ replica, generations: RemoteRow[] }`; exit 1 when a generation is damaged. */
export async function listReplica(url: string, args: { json: boolean; 'replica-endpoint'?: string; 'replica-region'?: string; 'replica-path-style'?: boolean }, ctx: CommandContext): Promise<number> {
  const client = await openReplicaFromArgs('--replica', url, args);
  const { listRemote, remoteRows } = await import('../replica/index.js');
  try {
    const rows = remoteRows(await listRemote(client));
    const exitCode = rows.some((r) => !r.ok) ? 1 : 0;
    if (args.json) {
      await ctx.out.json({ replica: url, generations: rows });
      return exitCode;
    }
    if (rows.length === 0) {
      await ctx.out.write(`no generations on ${url} yet\n`);
      return 0;
    }
    const text = table(
      ['SEQ', 'CREATED', 'PARENT', 'OFFSET', 'SIZE', 'HOST'],
      rows.map((r) => (r.ok
        ? [String(r.sequence), shortTime(r.created), r.parent === null ? '-' : String(r.parent), r.offset ?? '-', humanBytes(r.bytes), r.host]
        : [String(r.sequence), '-', '-', '-', '-', `bad: ${r.problem}`])),
      ['right', 'left', 'right', 'right', 'right', 'left'],
    );
    await ctx.out.write(text);
    return exitCode;
  } catch (err) {
    throw replicaFailure(err);
  } finally {
    client.close();
  }
}
