/**
 * sequential-single-class: the whole cluster sees one class at a time.
 *
 * At step t every worker trains on the same class. With runLength r the class changes every r
 * steps: run = floor(t / r). order 'cyclic' visits classes 0, 1, ..., C-1, 0, ...; 'random' uses a
 * seeded random permutation of the classes for each cycle of C runs (so every class still gets
 * one run per cycle). Works with W = 1.
 *
 * Samples come from the per-class streams (see class-streams): the workers of a step draw
 * consecutive chunks of size B of the active class's stream, in worker order, continuing where
 * that class's previous run stopped. Since each class is active for exactly r steps per cycle,
 * the chunk index has a closed form: k = (cycle * r + t mod r) * W + worker.
 */
import { ClassStreams } from './class-streams';
import { deriveSeed, permutation } from './prng';
import type { Strategy, StrategyOptions } from './strategy';
import { checkChunkFitsClasses, checkStepWorker, validateStrategyOptions } from './strategy';

const TAG_CLASS_ORDER = 0x6f7264; // 'ord'

export class SequentialSingleClassStrategy implements Strategy {
  readonly name = 'sequential-single-class';
  private readonly streams: ClassStreams;
  private readonly workers: number;
  private readonly batchSize: number;
  private readonly numClasses: number;
  private readonly seed: number;
  private readonly order: 'cyclic' | 'random';
  private readonly runLength: number;
  /** The class order of the last cycle asked for ('random' only); steps are usually asked in order. */
  private cycleOrder: { cycle: number; classes: Uint32Array } | undefined;

  constructor(opts: StrategyOptions) {
    const counts = validateStrategyOptions(this.name, opts);
    checkChunkFitsClasses(counts, opts.batchSize, 'sequential-single-class');
    this.workers = opts.workers;
    this.batchSize = opts.batchSize;
    this.numClasses = opts.numClasses;
    this.seed = opts.seed;
    this.order = opts.order ?? 'cyclic';
    this.runLength = opts.runLength ?? 1;
    this.streams = new ClassStreams(opts.labels, opts.numClasses, opts.seed);
  }

  /** The class all workers train on at step `step`. */
  classAt(step: number): number {
    const run = Math.floor(step / this.runLength);
    const cycle = Math.floor(run / this.numClasses);
    const position = run % this.numClasses;
    return this.order === 'cyclic' ? position : this.classesOfCycle(cycle)[position];
  }

  batch(step: number, worker: number): Uint32Array {
    checkStepWorker(step, worker, this.workers);
    const r = this.runLength;
    const cycle = Math.floor(step / (r * this.numClasses));
    // Steps this class was active before `step`: r per earlier cycle, plus the earlier steps of this run.
    const stepsBefore = cycle * r + (step % r);
    const out = new Uint32Array(this.batchSize);
    this.streams.chunk(this.classAt(step), stepsBefore * this.workers + worker, this.batchSize, out);
    return out;
  }

  private classesOfCycle(cycle: number): Uint32Array {
    if (this.cycleOrder?.cycle !== cycle) {
      this.cycleOrder = { cycle, classes: permutation(this.numClasses, deriveSeed(this.seed, TAG_CLASS_ORDER, cycle)) };
    }
    return this.cycleOrder.classes;
  }

  describe(): string {
    const { workers: w, batchSize: b, numClasses: c, runLength: r } = this;
    const order = this.order === 'cyclic' ? `in cyclic order 0..${c - 1}` : 'in a seeded random order per cycle of all classes';
    return (
      `sequential-single-class: at each step ${w === 1 ? 'the worker trains' : `all ${w} workers train`} on ${b} samples of the same single class; ` +
      `the class changes ${r === 1 ? 'every step' : `every ${r} steps`} ${order}`
    );
  }
}
