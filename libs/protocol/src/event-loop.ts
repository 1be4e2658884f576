import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/*
 * A gRPC connection lives on the event loop: HTTP/2 keepalive pings are answered, and their timeouts fire, only
 * when the loop turns. A process that computes for longer than the keepalive timeout without returning to the
 * loop loses its connections: the peer's ping goes unanswered, and its own ping-timeout timer fires before the
 * acknowledgement, already in the socket, is read (timers run before I/O in each turn). Hence two tools here:
 * long computations yield on time, and every process measures how long its loop was held.
 */

/**
 * How long a computation may hold the event loop before it yields: far below any keepalive timeout (seconds),
 * long enough that the yields cost nothing measurable (one setImmediate per 50 ms).
 */
export const YIELD_EVERY_MS = 50;

let lastYield = performance.now();

/**
 * Returns to the event loop (I/O, timers, keepalive pings) if the loop has been held for YIELD_EVERY_MS or more
 * since the last yield; otherwise resolves at once without yielding. Call it between the pieces of a long
 * computation (local steps, evaluation chunks): it yields on time, whatever a piece costs, not every N pieces.
 */
export async function yieldIfDue(): Promise<void> {
  if (performance.now() - lastYield < YIELD_EVERY_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  lastYield = performance.now();
}

/**
 * The longest event-loop delay of this process since start (or reset) (perf_hooks.monitorEventLoopDelay, 10 ms resolution):
 * how long the loop was once held, so that summary.json and the bench show a regression before a keepalive does.
 */
export class LoopDelayMonitor {
  private readonly histogram: IntervalHistogram;

  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
  }

  /** Forgets what was seen so far (start-up work before the connections matter). */
  reset(): void {
    this.histogram.reset();
  }

  /** The longest delay seen, in ms (0 before any sample). */
  get maxMs(): number {
    const max = this.histogram.max;
    // Nanoseconds; an empty histogram reports a huge sentinel as its max.
    return this.histogram.count > 0 && Number.isFinite(max) ? Math.round(max / 1e4) / 100 : 0;
  }

  /** The 99th percentile delay in ms. */
  get p99Ms(): number {
    return this.histogram.count > 0 ? Math.round(this.histogram.percentile(99) / 1e4) / 100 : 0;
  }

  stop(): void {
    this.histogram.disable();
  }
}
