import type { CaptureResult } from '../capture/index.js';
import type { ChildExit } from './child-process.js';

const KEPT_EXITS = 10;

/** What the host knows about itself, as data: the live channel's `status` reads it. */
export class HostState {
  readonly command: string;
  readonly args: readonly string[];
  readonly hostStartedAt = Date.now();
  childPid: number | null = null;
  childStartedAt: number | null = null;
  restarts = 0;
  readonly lastExits: Array<ChildExit & { time: string }> = [];
  lastCapture: { sequence: number; time: string; reason: string; durationMs: number; bytes: number; records: number } | null = null;
  starvedCaptures = 0;
  durableOffset = 0n;
  nextCaptureDue: number | null = null;

  constructor(command: string, args: readonly string[]) {
    this.command = command;
    this.args = args;
  }

  childStarted(pid: number, at: number): void {
    this.childPid = pid;
    this.childStartedAt = at;
  }

  childExited(exit: ChildExit): void {
    this.childPid = null;
    this.childStartedAt = null;
    this.lastExits.unshift({ ...exit, time: new Date().toISOString() });
    this.lastExits.length = Math.min(this.lastExits.length, KEPT_EXITS);
  }

  captured(result: CaptureResult): void {
    const m = result.generation.manifest;
    this.lastCapture = {
      sequence: m.sequence, time: m.time, reason: m.reason, durationMs: result.durationMs, bytes: result.bytesCopied, records: m.records,
    };
    if (m.latest) this.durableOffset = BigInt(m.latest.offset) + BigInt(m.latest.length);
  }
}
