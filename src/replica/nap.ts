// The replicator loop's one pause: a timed sleep that a new generation may
// cut short (when the loop is idle) and that closing always cuts short.

export class Nap {
  #wake: (urgent: boolean) => void = () => {};

  /**
   * Sleeps `ms` milliseconds (Infinity: until woken). wake(true) ends it
   * early; wake(false) too when `byAnyWake`.
   */
  sleep(ms: number, byAnyWake: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = (urgent) => {
        if (urgent || byAnyWake) done();
      };
    });
  }

  /** Ends the current sleep if it allows: `urgent` for stopping, otherwise for new work. */
  wake(urgent: boolean): void {
    this.#wake(urgent);
  }
}
