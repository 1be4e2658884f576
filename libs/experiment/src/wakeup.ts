/** One sleeper (the session's run loop) that an event wakes early: a join, a push, a lost worker, a stop. */
export class Wakeup {
  private wake: (() => void) | null = null;

  /** Wakes the sleeper, if one sleeps; otherwise nothing (the loop checks its conditions before sleeping). */
  poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Resolves after `ms`, or at the next poke. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
