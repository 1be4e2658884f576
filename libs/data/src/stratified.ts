/**
 * stratified: every worker batch holds the same number of samples of every class.
 *
 * Each batch holds B/C samples of each class (B must be divisible by C), grouped by class, class
 * 0's chunk first. The samples come from the per-class streams (see class-streams) in the same
 * chunk order label-per-node uses: at step t worker w takes chunk k = t * W + w of size B/C of
 * every class's stream. Hence stratified with W workers and batch B draws, step for step, the
 * same samples as label-per-node with W*C workers and batch B/C (e.g. W=1, B=128 vs W=4, B=32
 * for C=4): the same data, split across workers by class or not.
 */
import { ClassStreams } from './class-streams';
import { DataError } from './errors';
import type { Strategy, StrategyOptions } from './strategy';
import { checkChunkFitsClasses, checkStepWorker, validateStrategyOptions } from './strategy';

export class StratifiedStrategy implements Strategy {
  readonly name = 'stratified';
  private readonly streams: ClassStreams;
  private readonly workers: number;
  private readonly batchSize: number;
  private readonly numClasses: number;
  /** B / C: samples of each class in one batch. */
  private readonly perClass: number;

  constructor(opts: StrategyOptions) {
    const counts = validateStrategyOptions(this.name, opts);
    const { batchSize: b, numClasses: c } = opts;
    if (b % c !== 0) {
      const below = b - (b % c);
      const suggestion = below > 0 ? `${below} or ${below + c}` : `${c}`;
      throw new DataError(
        `--batch-size: stratified needs a multiple of the ${c} classes (an equal share of each), got ${b}; try ${suggestion}`,
      );
    }
    this.perClass = b / c;
    checkChunkFitsClasses(counts, this.perClass, 'stratified');
    this.workers = opts.workers;
    this.batchSize = b;
    this.numClasses = c;
    this.streams = new ClassStreams(opts.labels, opts.numClasses, opts.seed);
  }

  batch(step: number, worker: number): Uint32Array {
    checkStepWorker(step, worker, this.workers);
    const out = new Uint32Array(this.batchSize);
    const k = step * this.workers + worker;
    for (let c = 0; c < this.numClasses; c++) this.streams.chunk(c, k, this.perClass, out, c * this.perClass);
    return out;
  }

  describe(): string {
    const { workers: w, batchSize: b, numClasses: c, perClass } = this;
    return `stratified: ${w === 1 ? 'the worker gets' : `each of ${w} workers gets`} ${b} samples per step, exactly ${perClass} of each of the ${c} classes`;
  }
}
