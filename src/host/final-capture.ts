// The last capture before the host ends (a stop, or the restart policy
// giving up): once the host exits, the memory file is gone, so a capture
// that the disk refuses is retried, space is freed, and what could not be
// saved is said in numbers, with an exit status of its own.
import { setTimeout as delay } from 'node:timers/promises';
import type { SnapshotStore } from '../store/index.js';
import type { CaptureOutcome } from './capture-queue.js';
import type { Logger } from './logger.js';

/**
 * The host's exit status when it ends without its child's last memory on
 * disk (74 is EX_IOERR of sysexits.h): the next start resumes from an older
 * generation. Neither 0 nor 128+signal, nor 1, 2 or 127 (docs in README).
 */
export const EXIT_STATE_LOST = 74;

/** The shortest time the final capture is retried, when --stop-timeout is shorter. */
const MIN_RETRY_MS = 1000;

export interface FinalCaptureContext {
  readonly store: SnapshotStore;
  readonly log: Logger;
  /** One exact capture of the current file (queued after every other capture). */
  capture(): Promise<CaptureOutcome>;
  /** The live file's write_offset: the end of the newest committed record, or null when it was never configured. */
  writeOffset(): bigint | null;
}

/**
 * Captures the current file for the last time. A capture the disk refused
 * (full, read-only, I/O error) is retried until `retryMs` (at least 1 s)
 * passed, after deleting every generation but the newest verified one to
 * make room. Resolves to whether the child's last memory is durable; when
 * it is not, one error line says which generation the next start resumes
 * from and which stream offsets are lost.
 */
export async function finalCapture(ctx: FinalCaptureContext, retryMs: number): Promise<boolean> {
  let outcome = await ctx.capture();
  if (outcome.kind === 'io-error') {
    const deadline = performance.now() + Math.max(retryMs, MIN_RETRY_MS);
    await freeSpace(ctx);
    let pauseMs = 50;
    while (outcome.kind === 'io-error' && performance.now() < deadline) {
      await delay(Math.min(pauseMs, Math.max(0, deadline - performance.now())));
      pauseMs = Math.min(pauseMs * 2, 1000);
      outcome = await ctx.capture();
    }
  }
  if (outcome.kind === 'stored') return true;
  await reportLoss(ctx, outcome.kind === 'io-error' ? 'the snapshot directory refused it' : 'the child left its file in an invalid layout');
  return false;
}

/** Deletes the generations a restore would not use (all but the newest verified), so the retry has room. */
async function freeSpace(ctx: FinalCaptureContext): Promise<void> {
  try {
    const deleted = await ctx.store.pruneToNewestVerified();
    if (deleted.length > 0) {
      ctx.log.log('warn', 'freed-space', `deleted generation(s) ${deleted.join(', ')} to make room for the final capture (the newest verified one is kept)`, { deleted });
    }
  } catch {
    // A read-only directory cannot be pruned either: the retries go on.
  }
}

async function reportLoss(ctx: FinalCaptureContext, why: string): Promise<void> {
  let newest: { sequence: number; end: bigint | null } | null = null;
  try {
    const found = (await ctx.store.list()).find((g) => g.ok);
    if (found?.ok) {
      const latest = found.manifest.latest;
      newest = { sequence: found.sequence, end: latest ? BigInt(latest.offset) + BigInt(latest.length) : null };
    }
  } catch {
    // The directory cannot even be listed: say so below.
  }
  const committed = ctx.writeOffset();
  const from = newest === null ? 'an empty file (no generation is stored)' : `generation ${newest.sequence}${newest.end === null ? ' (no records)' : ` (records up to stream offset ${newest.end})`}`;
  const durableEnd = newest?.end ?? 0n;
  const lost = committed === null ? 'whatever the child wrote since' : committed > durableEnd
    ? `the records from stream offset ${durableEnd} to ${committed} (${committed - durableEnd} bytes)`
    : 'nothing committed, but the tail written since';
  ctx.log.log('error', 'state-lost', `the final capture could not be stored (${why}): the next start resumes from ${from}; ${lost} are lost`, {
    resumesFrom: newest?.sequence ?? null, durableOffset: durableEnd, writeOffset: committed, status: EXIT_STATE_LOST,
  });
}
