/** An interruptible sleep: wake() ends the current and every later sleep at once. */
export class Wakeup {
  #woken = false;
  #wake: (() => void) | null = null;

  /**
   * Resolves to true when woken, false once at least `ms` have passed on
   * the monotonic clock. A timer alone can end up to a millisecond early by
   * that clock (libuv counts from the time it cached at the start of the
   * loop's turn), so what is left is slept again.
   */
  sleep(ms: number): Promise<boolean> {
    if (this.#woken) return Promise.resolve(true);
    const deadline = performance.now() + ms;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout;
      const wait = (left: number): void => {
        timer = setTimeout(() => {
          const still = deadline - performance.now();
          if (still > 0) return wait(still);
          this.#wake = null;
          resolve(false);
        }, left);
      };
      wait(ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  wake(): void {
    this.#woken = true;
    this.#wake?.();
    this.#wake = null;
  }
}
