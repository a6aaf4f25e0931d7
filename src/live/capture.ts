// Capturing a consistent snapshot of a live shared file (docs/FORMAT.md,
// section 8, the queue strategy). The host never stops or asks the child: it scans the
// slots, copies, scans again, and keeps the records it can prove untouched.
import type { Reason, SnapshotStore } from '../store/index.js';
import { captureOnce } from './attempt.js';
import { CaptureError } from './errors.js';
import { publishDurable } from './publish-durable.js';
import type { CaptureOptions, CaptureResult } from './capture-options.js';

/**
 * Attempts after a starved one. A starved attempt costs little (its
 * temporary image is created and removed, nothing else is written), so many
 * cheap tries beat a lost interval: a writer that laps 8 slots nonstop
 * starves 83-86% of single attempts here, yet with 15 retries 1711 of its
 * 1712 interval captures were stored, where 3 retries stored about half
 * (docs/BENCHMARKS.md, Capture): attempts right after a starved one
 * succeed more often than single attempts do.
 */
const DEFAULT_MAX_STARVED_RETRIES = 15;

/**
 * Captures the live shared file `fd` into a new durable generation of
 * `store`, then publishes durable_offset in the live header. Throws a
 * CaptureError ('invalid-layout', 'starved', 'io', 'unconfigured') when it
 * stores nothing. Reads the file's size at every call: a child may grow it.
 */
export async function capture(fd: number, store: SnapshotStore, reason: Reason, options: CaptureOptions = {}): Promise<CaptureResult> {
  const started = performance.now();
  const postMortem = options.postMortem ?? (reason === 'post-mortem' || reason === 'shutdown');
  const maxRetries = options.maxStarvedRetries ?? DEFAULT_MAX_STARVED_RETRIES;
  if (!Number.isSafeInteger(maxRetries) || maxRetries < 0) throw new RangeError(`maxStarvedRetries must be a whole number, got ${maxRetries}`);
  let starved = 0;
  let fullBecause: string | null = null;
  for (let configuredMeanwhile = 0; ;) {
    const attempt = await captureOnce(fd, store, reason, postMortem, options);
    if (attempt.kind === 'stored') {
      let published: CaptureResult['published'] = null;
      if (attempt.latestEnd !== null) {
        try {
          published = publishDurable(fd, attempt.latestEnd, attempt.generation.sequence);
        } catch {
          // The generation is durable either way; the child only learns it later.
        }
      }
      return {
        generation: attempt.generation,
        records: attempt.records,
        bytesCopied: attempt.bytesCopied,
        durationMs: performance.now() - started,
        starvedRetries: starved,
        writerActive: attempt.writerActive,
        published,
        fullBecause,
      };
    }
    if (attempt.kind === 'parent-unreadable') {
      // The store forgot the parent: the next attempt writes a full generation.
      if (fullBecause !== null) throw new CaptureError('io', attempt.reason);
      fullBecause = attempt.reason;
      continue;
    }
    if (attempt.kind === 'configured-meanwhile') {
      // A raw capture saw the file being configured: capture it again as configured.
      if (++configuredMeanwhile > maxRetries) throw new CaptureError('invalid-layout', 'child wrote an invalid layout: its header kept changing during the capture');
      continue;
    }
    starved += 1;
    if (starved > maxRetries) {
      throw new CaptureError('starved', `capture starved ${starved} times: the child overwrote every record while it was being copied; nothing was stored (give the child a larger data ring or more entry slots)`, { starvedRetries: starved });
    }
  }
}
