// shm-host status: what the host running on a directory is doing, asked
// over its live channel. Exit 3 when no host runs there.
import { fetchStatus, type HostStatus } from '../host/control/index.js';
import { defineCommand } from './command.js';
import { withDir, withJson, exampleLines } from './options.js';
import { MAX_TIMER, parseTimer } from './values.js';
import { fields, humanBytes, humanDuration, shortTime } from './text.js';

function statusText(s: HostStatus): string {
  const child = s.child.pid === null ? `${s.child.state}` : `pid ${s.child.pid}, ${s.child.state}${s.child.startedAt ? ` since ${shortTime(s.child.startedAt)}` : ''}`;
  const exits = s.lastExits.map((e) => `${e.reason} (pid ${e.pid}, ${shortTime(e.time)})`);
  const capture = s.lastCapture === null
    ? 'none yet'
    : `generation ${s.lastCapture.sequence} at ${shortTime(s.lastCapture.time)} (${s.lastCapture.reason}, ${humanDuration(s.lastCapture.durationMs)}, ${humanBytes(s.lastCapture.bytes)})`;
  const next = s.nextCaptureDue === null
    ? (s.intervalMs === 0 ? 'none: --interval 0 (only when the child dies or the host stops)' : 'none scheduled (nothing committed since the last one)')
    : `${shortTime(s.nextCaptureDue)} (every ${humanDuration(s.intervalMs)})`;
  return fields([
    ['host', `pid ${s.pid}, up ${humanDuration(s.uptimeMs)}, on ${s.dir}`],
    ['command', s.child.command.join(' ')],
    ['child', child],
    ['restarts', String(s.restarts)],
    ...exits.map((e, i) => [i === 0 ? 'last exits' : '', e] as const),
    ['last capture', capture],
    ['last restart', s.lastRestart == null ? 'none yet' : `restart ${s.lastRestart.restart} at ${shortTime(s.lastRestart.deathSeenAt)}: reaped ${s.lastRestart.reapMs} ms, copied and proven ${s.lastRestart.copyMs} ms, delay ${s.lastRestart.delayMs} ms, spawned ${s.lastRestart.spawnMs} ms (${s.lastRestart.totalMs} ms in all)`],
    ['starved', `${s.starvedCaptures} capture${s.starvedCaptures === 1 ? '' : 's'} retried because the child outran the copy`],
    ['durable_offset', s.durableOffset === '0' ? '0 (no record durable yet)' : `${s.durableOffset}${s.snapshotSeq ? ` (generation ${s.snapshotSeq})` : ''}`],
    ['next capture', next],
    ...(s.replica == null ? [] : replicaFields(s.replica)),
  ]);
}

/** The replica's lines: where, state, last generation and offset replicated, lag, last error. */
function replicaFields(r: NonNullable<HostStatus['replica']>): Array<readonly [string, string]> {
  const last = r.lastReplicated === null ? 'none yet' : `generation ${r.lastReplicated.sequence}, offset ${r.lastReplicated.offset ?? '-'}, at ${shortTime(r.lastReplicated.at)}`;
  const uploading = r.uploading === null ? '' : `, uploading generation ${r.uploading.sequence} (${humanBytes(r.uploading.bytesSent)} of ${humanBytes(r.uploading.bytes)})`;
  return [
    ['replica', `${r.url} (${r.state}${uploading})`],
    ['replicated', last],
    ['replica lag', `${r.lagGenerations} generation${r.lagGenerations === 1 ? '' : 's'}, ${humanBytes(r.lagBytes)} to send`],
    ['replica error', r.lastError === null ? 'none' : `${r.lastError.message} (${shortTime(r.lastError.at)})`],
  ];
}

export const statusCommand = defineCommand({
  command: 'status',
  describe: 'Show the running host\'s state (exit 3 when no host runs on --dir)',
  builder: (yargs) =>
    withJson(withDir(yargs))
      .option('timeout', { type: 'string', default: '5s', requiresArg: true, describe: `How long to wait for the host's answer (0 to ${MAX_TIMER.text})` })
      .example(exampleLines('shm-host status --json | jq .restarts', 'How often the child was restarted'))
      .example(exampleLines('shm-host status >/dev/null 2>&1; [ $? = 3 ] && echo "no host"', 'Is a host running?')),
  handler: async (args, ctx) => {
    const timeoutMs = parseTimer('--timeout', args.timeout);
    const status = await fetchStatus(args.dir, timeoutMs);
    if (args.json) await ctx.out.json(status);
    else await ctx.out.write(statusText(status));
    return 0;
  },
});
