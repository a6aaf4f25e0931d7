/** An interruptible sleep: wake() ends the current and every later sleep at once. */
export class Wakeup {
  #woken = false;
  #wake: (() => void) | null = null;

  /** Resolves to true when woken, false when the time ran out. */
  sleep(ms: number): Promise<boolean> {
    if (this.#woken) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(false);
      }, ms);
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
