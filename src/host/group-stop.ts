// A stop of the child's process group: the stop signal goes to the whole
// group (a shell running the program dies at once; the program must get
// the signal too), and the group, not only its leader, gets --stop-timeout
// from the first stop signal to end before the host SIGKILLs it.
import { waitGroupUntil } from './process-group.js';
import { forwardStop } from './signals.js';

export class GroupStop {
  /** The first stop signal received, or null. */
  signal: NodeJS.Signals | null = null;
  readonly #timeoutMs: number;
  #forced = false;
  /** The group a stop signal went to, while the host waits for it. */
  #stopping: number | null = null;
  /** performance.now() ms at which the stop turns into SIGKILL. */
  #deadline: number | null = null;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Records `signal`; true for the first one. Sends it to group `pgid` when a child runs. */
  request(signal: NodeJS.Signals, pgid: number | null): boolean {
    const first = this.signal === null;
    this.signal ??= signal;
    if (first) this.#deadline = performance.now() + this.#timeoutMs;
    if (pgid !== null) {
      this.#stopping = pgid;
      const left = Math.max(0, (this.#deadline ?? 0) - performance.now());
      // The group may outlive its leader: the kill applies while the host still waits for the group.
      forwardStop(pgid, signal, left, () => this.#stopping === pgid, () => {
        this.#forced = true;
      });
    }
    return first;
  }

  /** A new child starts: nothing forced yet. */
  childStarted(): void {
    this.#forced = false;
  }

  /**
   * After the leader of group `pgid` exited: on a stop, waits until the rest
   * of the group ended or the deadline passed. Resolves to whether the host
   * had to SIGKILL (or will: the caller kills what is left).
   */
  async leaderExited(pgid: number): Promise<boolean> {
    if (this.#deadline !== null && !(await waitGroupUntil(pgid, this.#deadline))) this.#forced = true;
    this.#stopping = null;
    return this.#forced;
  }
}
