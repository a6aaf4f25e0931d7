// A one-line progress bar on stderr for long operations on large images.
// It draws only on a terminal, at most ten times a second, and erases
// itself when done, so it never ends up in a pipe, a log or a --json reader.
import { humanBytes } from './text.js';
import type { OutputStream } from './io.js';

/** Work done so far on one long operation. */
export interface Progress {
  /** Adds `bytes` of work done. */
  advance(bytes: number): void;
  /** Erases the bar (call once, also after a failure). */
  finish(): void;
}

const REDRAW_MS = 100;
const inert: Progress = { advance: () => {}, finish: () => {} };

/**
 * A bar labelled `label` for `total` bytes, drawn on `stream` when `enabled`
 * (the caller decides: stdout and stderr are terminals, no --json). `now`
 * is the clock, for tests.
 */
export function createProgress(stream: OutputStream, label: string, total: number, enabled: boolean, now: () => number = Date.now): Progress {
  if (!enabled || total <= 0) return inert;
  let done = 0;
  let drawnAt = -Infinity;
  let drawn = false;
  const draw = (): void => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 40));
    const fraction = Math.min(1, done / total);
    const filled = Math.round(fraction * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    const percent = `${Math.floor(fraction * 100)}`.padStart(3);
    stream.write(`\r${label} [${bar}] ${percent}% ${humanBytes(done)} / ${humanBytes(total)}\u001b[K`);
    drawn = true;
  };
  return {
    advance(bytes) {
      done += bytes;
      const t = now();
      if (t - drawnAt < REDRAW_MS && done < total) return;
      drawnAt = t;
      draw();
    },
    finish() {
      if (drawn) stream.write('\r\u001b[K');
      drawn = false;
    },
  };
}
