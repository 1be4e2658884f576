import { coordinateDrop, coordinateWise, krumChoice, krumDiscarded, pairDistances, weightedAverage, type Combined, type RobustRule } from '@shardlab/aggregation';
import type { Collective } from './collective';
import { checkRank } from './average-start';

/*
 * The shared-memory collective: W workers that are threads of one process average through SharedArrayBuffers,
 * with no messages and no copies beyond one write of each gradient. A step's average:
 *   1. each worker writes its gradient into its slot, and its weight (samples) beside it; barrier;
 *   2. each worker computes its 1/W of the elements of the average from every slot; barrier;
 *   3. every worker reads the whole average (the same bytes for all).
 * Each element is weightedAverage's recipe (float64 accumulation in worker-index order, one rounding), so the
 * result does not depend on which thread computes which element, nor on the thread count: it is bit for bit
 * the relay coordinator's average of the same gradients.
 * Waits are Atomics.waitAsync, so a waiting worker's event loop goes on (gRPC keepalives, its next report).
 *
 * Robust rules (--combine median, trimmed-mean, multi-krum) need every contribution in one place, which shared
 * memory is: `combine` splits them the same way (coordinate ranges; Multi-Krum's pair distances by pair index)
 * with libs/aggregation's parts, so every worker gets combine()'s bytes, as a relay coordinator computes them.
 */

/** The largest in-step sum (SyncBN statistics: two values a channel) the buffers hold, in float64 values. */
export const SHARED_SUM_CAPACITY = 65_536;

/** The buffers of one run's shared-memory collective: made where the threads are started, handed to each. */
export interface SharedMemoryBuffers {
  world: number;
  /** Values per average (the parameter count). */
  size: number;
  /** world x size float32: each worker's gradient. */
  slots: SharedArrayBuffer;
  /** world float64: each worker's weight. */
  weights: SharedArrayBuffer;
  /** size float32: the average. */
  average: SharedArrayBuffer;
  /** world x SHARED_SUM_CAPACITY float64: each worker's values of an in-step sum. */
  sums: SharedArrayBuffer;
  /** world x world float64: a robust rule's per-range counts of left-out values, or Multi-Krum's pair distances. */
  scratch: SharedArrayBuffer;
  /** int32: [arrivals, generation, aborted, world x barriers passed by each worker]. */
  control: SharedArrayBuffer;
}

/** Atomics.waitAsync (Node 16+; ES2024's lib, beyond our ES2022 one). */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

const ARRIVALS = 0;
const GENERATION = 1;
const ABORTED = 2;
const PASSED = 3;

export function sharedMemoryBuffers(world: number, size: number): SharedMemoryBuffers {
  checkRank(0, world);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  return {
    world,
    size,
    slots: new SharedArrayBuffer(world * size * 4),
    weights: new SharedArrayBuffer(world * 8),
    average: new SharedArrayBuffer(size * 4),
    sums: new SharedArrayBuffer(world * SHARED_SUM_CAPACITY * 8),
    scratch: new SharedArrayBuffer(world * world * 8),
    control: new SharedArrayBuffer((PASSED + world) * 4),
  };
}

/**
 * Fails every wait of the collective, now and later, with "worker `worker` is gone": what the process that runs
 * the threads calls when one of them ends, so the others stop at once instead of at their timeout.
 */
export function abortSharedMemory(buffers: SharedMemoryBuffers, worker: number): void {
  const control = new Int32Array(buffers.control);
  Atomics.store(control, ABORTED, worker + 1);
  Atomics.add(control, GENERATION, 1);
  Atomics.notify(control, GENERATION);
}

export class SharedMemoryCollective implements Collective {
  private readonly slots: Float32Array[];
  private readonly weights: Float64Array;
  private readonly average_: Float32Array;
  private readonly sums: Float64Array[];
  private readonly scratch: Float64Array;
  private readonly control: Int32Array;
  /** This worker's part of the average: elements lo..hi-1. */
  private readonly lo: number;
  private readonly hi: number;
  private passed = 0;

  constructor(
    private readonly buffers: SharedMemoryBuffers,
    private readonly rank: number,
    /** How long a worker waits for the others at a barrier before failing, naming who did not arrive. */
    private readonly timeoutMs: number,
  ) {
    const { world, size } = buffers;
    checkRank(rank, world);
    this.slots = Array.from({ length: world }, (_, k) => new Float32Array(buffers.slots, k * size * 4, size));
    this.weights = new Float64Array(buffers.weights);
    this.average_ = new Float32Array(buffers.average);
    this.sums = Array.from({ length: world }, (_, k) => new Float64Array(buffers.sums, k * SHARED_SUM_CAPACITY * 8, SHARED_SUM_CAPACITY));
    this.scratch = new Float64Array(buffers.scratch);
    this.control = new Int32Array(buffers.control);
    this.lo = Math.floor((rank * size) / world);
    this.hi = Math.floor(((rank + 1) * size) / world);
  }

  /** The sample-weighted average; the returned array is shared, valid until this worker's next call. */
  async average(values: Float32Array, weight: number, step: number): Promise<Float32Array> {
    await this.contribute('average', values, weight, step);
    const { lo, hi } = this;
    weightedAverage(
      this.slots.map((s) => s.subarray(lo, hi)),
      Array.from(this.weights),
      this.average_.subarray(lo, hi),
    );
    await this.barrier(step);
    return this.average_;
  }

  /**
   * A robust rule over every worker's contribution (a relay coordinator's combine(), bit for bit): the update,
   * the same for all, and per worker the share of its contribution the rule left out. The update is shared,
   * valid until this worker's next call.
   */
  async combine(values: Float32Array, weight: number, step: number, rule: RobustRule): Promise<Combined> {
    const { size, world } = this.buffers;
    await this.contribute('combine', values, weight, step);
    const scratch = this.scratch;
    if (rule.name === 'multi-krum') {
      // Each worker computes the distances of the pairs a < b whose row-major index p = a * world + b is its own
      // modulo world; then every worker makes the same choice and averages its range of the chosen contributions.
      pairDistances(this.slots, scratch, this.rank, world);
      await this.barrier(step);
      const chosen = krumChoice(scratch, world, rule.krumF);
      const { lo, hi } = this;
      weightedAverage(
        chosen.map((i) => this.slots[i]!.subarray(lo, hi)),
        chosen.map((i) => this.weights[i]!),
        this.average_.subarray(lo, hi),
      );
      await this.barrier(step);
      return { update: this.average_, discarded: krumDiscarded(chosen, world) };
    }
    // Coordinate-wise: this worker's range, and how many of each worker's values it left out (its scratch row).
    const left = scratch.subarray(this.rank * world, (this.rank + 1) * world);
    left.fill(0);
    coordinateWise(this.slots, coordinateDrop(rule.name, world, rule), this.lo, this.hi, this.average_, left);
    await this.barrier(step);
    const discarded = Array.from({ length: world }, (_, i) => {
      let count = 0;
      for (let r = 0; r < world; r++) count += scratch[r * world + i]!;
      return count / size;
    });
    // No third barrier: the scratch rows and the average are written again only after the next call's first one,
    // which every worker reaches after it has used this call's.
    return { update: this.average_, discarded };
  }

  /** Writes this worker's contribution and weight into its slot, then waits until every worker has. */
  private async contribute(what: string, values: Float32Array, weight: number, step: number): Promise<void> {
    const { size } = this.buffers;
    if (values.length !== size) throw new RangeError(`shared-memory ${what}: ${values.length} values, the buffers hold ${size}`);
    if (!(weight >= 0 && Number.isFinite(weight))) throw new RangeError(`weight must be finite and >= 0, got ${weight}`);
    this.slots[this.rank]!.set(values);
    this.weights[this.rank] = weight;
    await this.barrier(step);
  }

  /** Element-wise sum over the workers in worker order, from 0 (as the relay coordinator sums). */
  async sum(values: Float64Array, step: number): Promise<Float64Array> {
    if (values.length > SHARED_SUM_CAPACITY) throw new RangeError(`shared-memory sum: ${values.length} values, at most ${SHARED_SUM_CAPACITY}`);
    this.sums[this.rank]!.set(values);
    await this.barrier(step);
    const out = new Float64Array(values.length);
    for (let i = 0; i < out.length; i++) {
      let acc = 0;
      for (const s of this.sums) acc += s[i]!;
      out[i] = acc;
    }
    await this.barrier(step);
    return out;
  }

  /** Every worker arrives before any leaves; a wait longer than timeoutMs fails naming who is missing. */
  private async barrier(step: number): Promise<void> {
    const c = this.control;
    const { world } = this.buffers;
    this.checkAborted(step);
    const generation = Atomics.load(c, GENERATION);
    Atomics.store(c, PASSED + this.rank, ++this.passed);
    if (Atomics.add(c, ARRIVALS, 1) === world - 1) {
      Atomics.store(c, ARRIVALS, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    const deadline = performance.now() + this.timeoutMs;
    while (Atomics.load(c, GENERATION) === generation) {
      const left = deadline - performance.now();
      if (left <= 0) {
        const missing = Array.from({ length: world }, (_, k) => k).filter((k) => Atomics.load(c, PASSED + k) < this.passed);
        throw new Error(`step ${step}: worker${missing.length === 1 ? '' : 's'} ${missing.join(', ')} did not reach the shared-memory all-reduce within ${this.timeoutMs / 1000} s`);
      }
      const r = waitAsync(c, GENERATION, generation, left);
      if (!r.async) continue;
      // A pending waitAsync does not keep Node's event loop alive: a thread with nothing else to do (the in-step
      // sums of SyncBN come before any call is open) would end mid-wait. A timer for the wait keeps it running.
      const alive = setTimeout(() => undefined, left);
      try {
        await r.value;
      } finally {
        clearTimeout(alive);
      }
    }
    this.checkAborted(step);
  }

  private checkAborted(step: number): void {
    const gone = Atomics.load(this.control, ABORTED);
    if (gone > 0) throw new Error(`step ${step}: worker ${gone - 1} is gone, so the shared-memory all-reduce cannot complete`);
  }
}
