import { resolve } from 'node:path';
import type { CaptureResult } from '../live/index.js';
import type { Reason } from '../store/index.js';
import type { ReplicaStatus } from '../replica/index.js';
import { describeExit, type ChildExit } from './child-process.js';
import type { CaptureRecord, ExitRecord, HostStatus, RestartTimelineRecord } from './control/protocol.js';

const KEPT_EXITS = 10;

type ChildPhase = HostStatus['child']['state'];

/** What the host knows about itself, as data: logs and the live channel's `status` read it. */
export class HostState {
  readonly command: readonly string[];
  readonly startedAt = Date.now();
  readonly #startedMonotonic = performance.now();
  childPid: number | null = null;
  childStartedAt: number | null = null;
  phase: ChildPhase = 'exited';
  restarts = 0;
  readonly lastExits: ExitRecord[] = [];
  lastCapture: CaptureRecord | null = null;
  lastRestart: RestartTimelineRecord | null = null;
  /** Called after each change a service manager's STATUS= line shows (child started or exited, a capture). */
  onChange: () => void = () => {};
  starvedCaptures = 0;
  /** durable_offset and snapshot_seq from the live file's header (see HeaderWatch.durable), set by the supervisor. */
  header: () => { durableOffset: bigint; snapshotSeq: bigint } | null = () => null;
  nextCaptureDue: number | null = null;
  /** The replica's status, when the host has one (--replica). */
  replica: (() => ReplicaStatus) | null = null;

  constructor(command: string, args: readonly string[]) {
    this.command = [command, ...args];
  }

  childStarted(pid: number, at: number): void {
    this.childPid = pid;
    this.childStartedAt = at;
    this.phase = 'running';
    this.onChange();
  }

  childExited(exit: ChildExit): void {
    this.childPid = null;
    this.childStartedAt = null;
    this.phase = 'exited';
    this.lastExits.unshift({ time: new Date().toISOString(), pid: exit.pid, code: exit.code, signal: exit.signal, reason: describeExit(exit) });
    this.lastExits.length = Math.min(this.lastExits.length, KEPT_EXITS);
    this.onChange();
  }

  captured(result: CaptureResult, reason: Reason): void {
    const m = result.generation.manifest;
    this.lastCapture = { sequence: m.sequence, time: new Date().toISOString(), durationMs: result.durationMs, bytes: result.bytesCopied, reason };
    this.onChange();
  }

  /** The live channel's answer to `status`. */
  status(dir: string, intervalMs: number): HostStatus {
    const header = this.header();
    return {
      pid: process.pid,
      dir: resolve(dir),
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeMs: Math.round(performance.now() - this.#startedMonotonic),
      child: {
        pid: this.childPid,
        command: this.command,
        state: this.phase,
        startedAt: this.childStartedAt === null ? null : new Date(this.childStartedAt).toISOString(),
      },
      restarts: this.restarts,
      lastExits: this.lastExits,
      lastCapture: this.lastCapture,
      lastRestart: this.lastRestart,
      starvedCaptures: this.starvedCaptures,
      // What the child reads from its header, after a restore or a capture alike.
      durableOffset: (header?.durableOffset ?? 0n).toString(),
      snapshotSeq: Number(header?.snapshotSeq ?? 0n),
      intervalMs,
      nextCaptureDue: this.nextCaptureDue === null ? null : new Date(this.nextCaptureDue).toISOString(),
      replica: this.replica?.() ?? null,
    };
  }
}
