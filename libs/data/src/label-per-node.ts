/**
 * label-per-node: each worker trains on a single class, and the classes rotate.
 *
 * At step t worker w gets B samples of class (w + t) mod C, taken from that class's per-class
 * stream (see class-streams): the k-th time class c is assigned (counting steps in order, and
 * workers in order within a step) it gets chunk k of size B of class c's stream.
 *
 * Consequences:
 *  - every window of C consecutive steps gives each class exactly W batches (equal share over time),
 *    because each worker visits every class once per C steps;
 *  - when W is a multiple of C every single step is class-balanced (W/C batches of each class), so
 *    gradient averaging sees the same label mix as iid;
 *  - when W < C, or W is not a multiple of C, a single step's global batch is skewed, but the skew
 *    rotates from step to step.
 * batch() computes k in closed form (O(C)), so any step can be asked for directly.
 */
import { ClassStreams } from './class-streams';
import type { Strategy, StrategyOptions } from './strategy';
import { checkChunkFitsClasses, checkStepWorker, validateStrategyOptions } from './strategy';

export class LabelPerNodeStrategy implements Strategy {
  readonly name = 'label-per-node';
  private readonly streams: ClassStreams;
  private readonly workers: number;
  private readonly batchSize: number;
  private readonly numClasses: number;

  constructor(opts: StrategyOptions) {
    const counts = validateStrategyOptions(this.name, opts);
    checkChunkFitsClasses(counts, opts.batchSize, 'label-per-node');
    this.workers = opts.workers;
    this.batchSize = opts.batchSize;
    this.numClasses = opts.numClasses;
    this.streams = new ClassStreams(opts.labels, opts.numClasses, opts.seed);
  }

  /** The class worker `worker` trains on at step `step`. */
  classAt(step: number, worker: number): number {
    return (worker + step) % this.numClasses;
  }

  batch(step: number, worker: number): Uint32Array {
    checkStepWorker(step, worker, this.workers);
    const c = this.classAt(step, worker);
    // Earlier workers of this step with the same class are worker - C, worker - 2C, ...
    const k = this.assignmentsBefore(c, step) + Math.floor(worker / this.numClasses);
    const out = new Uint32Array(this.batchSize);
    this.streams.chunk(c, k, this.batchSize, out);
    return out;
  }

  /** How many batches of class c were handed out in steps 0..step-1. */
  private assignmentsBefore(c: number, step: number): number {
    const C = this.numClasses;
    const windows = Math.floor(step / C);
    let n = windows * this.workers; // each full window of C steps gives class c exactly W batches
    for (let s = windows * C; s < step; s++) n += this.workersWithResidue(mod(c - s, C));
    return n;
  }

  /** Workers w in 0..W-1 with w mod C == r, i.e. those that get class c at a step s with c - s ≡ r. */
  private workersWithResidue(r: number): number {
    return r < this.workers ? Math.floor((this.workers - 1 - r) / this.numClasses) + 1 : 0;
  }

  describe(): string {
    const { workers: w, batchSize: b, numClasses: c } = this;
    let balance: string;
    if (w % c === 0) balance = `every step is class-balanced (${batches(w / c)} per class)`;
    else if (w < c) balance = `a single step sees only ${w} of the ${c} classes, rotating`;
    else balance = `a single step gives ${w % c} of the ${c} classes one batch more, rotating`;
    return (
      `label-per-node: at step t worker w trains on ${b} samples of class (w + t) mod ${c} only; ` +
      `every ${c} steps each class gets exactly ${batches(w)}; ${balance}`
    );
  }
}

function batches(n: number): string {
  return n === 1 ? '1 batch' : `${n} batches`;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
