import { describe, expect, it } from 'vitest';
import { LoopDelayMonitor, YIELD_EVERY_MS, yieldIfDue } from './event-loop';

/** Holds the event loop for `ms` (a piece of a long computation). */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** A computation of `pieces` pieces of 2 ms, with `between` after each; reports whether a due timer fired before its end. */
async function timerFiresDuring(pieces: number, between: () => Promise<void>): Promise<boolean> {
  let fired = false;
  const timer = setTimeout(() => (fired = true), 1);
  for (let i = 0; i < pieces; i++) {
    busy(2);
    await between();
  }
  const during = fired;
  clearTimeout(timer);
  return during;
}

describe('yieldIfDue', () => {
  it('lets timers and I/O run during a long computation, where awaiting alone never does', async () => {
    const pieces = Math.ceil((4 * YIELD_EVERY_MS) / 2);
    expect(await timerFiresDuring(pieces, () => Promise.resolve())).toBe(false);
    expect(await timerFiresDuring(pieces, yieldIfDue)).toBe(true);
  });

  it('does not yield before YIELD_EVERY_MS have passed since the last yield', async () => {
    await yieldIfDue();
    busy(YIELD_EVERY_MS + 5);
    await yieldIfDue(); // due: yields, and restarts the clock
    let fired = false;
    setImmediate(() => (fired = true));
    await yieldIfDue(); // just yielded: resolves without returning to the loop
    expect(fired).toBe(false);
  });
});

describe('LoopDelayMonitor', () => {
  it('reports the longest stretch the loop was held, and forgets it on reset', async () => {
    const monitor = new LoopDelayMonitor();
    await new Promise((r) => setTimeout(r, 30));
    busy(300);
    await new Promise((r) => setTimeout(r, 30));
    // The histogram's timer was late by about the 300 ms hold (its resolution is 10 ms).
    expect(monitor.maxMs).toBeGreaterThanOrEqual(250);
    monitor.reset();
    expect(monitor.maxMs).toBe(0);
    monitor.stop();
  });
});
