// The phases of one restart, timed with the monotonic clock
// (performance.now(): immune to wall-clock steps), so an operator and the
// benchmark see where a restart's time goes.
import { performance } from 'node:perf_hooks';
import type { RestartTimelineRecord } from './control/protocol.js';
import type { Logger } from './logger.js';

export type { RestartTimelineRecord } from './control/protocol.js';

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** Marks taken along one restart; `finish` turns them into a record. */
export class RestartTimeline {
  readonly #deathSeenAt = new Date();
  readonly #start = performance.now();
  #marks: number[] = [];

  /** Marks the end of the next phase (reaped, copied, delay). */
  mark(): void {
    this.#marks.push(performance.now());
  }

  /** Called once the next child is spawned. */
  finish(restart: number): RestartTimelineRecord {
    const end = performance.now();
    const [reaped = end, copied = reaped, delayed = copied] = this.#marks;
    return {
      restart,
      deathSeenAt: this.#deathSeenAt.toISOString(),
      reapMs: round(reaped - this.#start),
      copyMs: round(copied - reaped),
      delayMs: round(delayed - copied),
      spawnMs: round(end - delayed),
      totalMs: round(end - this.#start),
    };
  }
}

/** One line for the log and `status`: `reaped 0.4 ms, copied and proven 3.1 ms, ...`. */
export function describeTimeline(t: RestartTimelineRecord): string {
  return `death seen -> group reaped ${t.reapMs} ms -> memory copied and proven ${t.copyMs} ms -> delay ${t.delayMs} ms -> child spawned ${t.spawnMs} ms (${t.totalMs} ms in all)`;
}

/** Ends `timeline` once the restart's child is spawned: logs its phases and returns the record `status` keeps. */
export function finishTimeline(timeline: RestartTimeline, restarts: number, log: Logger): RestartTimelineRecord {
  const record = timeline.finish(restarts);
  log.log('info', 'restart-timeline', `restart ${record.restart}: ${describeTimeline(record)}`, { ...record });
  return record;
}
