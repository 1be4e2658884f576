/**
 * k-classes-per-node: NIID-Bench's "#C=k" label-quantity skew (Li et al., ICDE 2022, "Federated
 * Learning on Non-IID Data Silos"). A partition strategy (see partition): every worker owns all of
 * its share of exactly k distinct classes and trains on nothing else.
 *
 * Class assignment (seeded): worker i first gets class i mod C, then k - 1 further distinct classes.
 * NIID-Bench draws those uniformly at random; with W < C that can leave a class held by nobody, so
 * the further classes first go to the classes no worker holds yet (a seeded shuffle of them, dealt
 * round-robin over a seeded worker order), and only the slots left after that are drawn uniformly
 * at random among the classes the worker does not hold. Hence:
 *  - W*k >= C: every class is held by at least one worker (for W >= C exactly NIID-Bench's scheme);
 *  - W*k <  C: the W*k slots hold W*k distinct classes and the other C - W*k classes are held by no
 *    worker: their samples are never trained on (describe() lists them).
 * Each class's samples, in a seeded order (class-epoch 0 of the per-class streams), are split into
 * equal consecutive pieces (sizes within 1, larger first) among its holders in worker order.
 */
import { DataError } from './errors';
import { evenSplit, PartitionBatches, PartitionedStrategy, shuffledClassIds, UNOWNED } from './partition';
import { deriveSeed, permutation, SplitMix32 } from './prng';
import type { StrategyOptions } from './strategy';
import { plural, STRATEGY_DEFAULTS, validateStrategyOptions } from './strategy';

const TAG_CLASSES = 0x6b636c; // 'kcl'
const TAG_UNCOVERED = 0x6b756e; // 'kun'
const TAG_DEAL = 0x6b646c; // 'kdl'

export class KClassesPerNodeStrategy extends PartitionedStrategy {
  readonly name = 'k-classes-per-node';
  protected readonly parts: PartitionBatches;
  private readonly classes: number[][];
  private readonly unused: number[];
  private readonly numClasses: number;
  private readonly classesPerNode: number;
  private readonly batchSize: number;

  constructor(opts: StrategyOptions) {
    super();
    validateStrategyOptions(this.name, opts);
    const { labels, numClasses: C, workers: W, seed } = opts;
    const k = opts.classesPerNode ?? STRATEGY_DEFAULTS.classesPerNode;
    if (k > C) throw new DataError(`--classes-per-node: must be at most the ${C} classes, got ${k}`);
    this.numClasses = C;
    this.classesPerNode = k;
    this.batchSize = opts.batchSize;
    this.classes = assignClasses(W, C, k, seed);

    const holders: number[][] = Array.from({ length: C }, () => []);
    this.classes.forEach((held, w) => held.forEach((c) => holders[c].push(w)));
    holders.forEach((h) => h.sort((a, b) => a - b));
    this.unused = holders.flatMap((h, c) => (h.length === 0 ? [c] : []));

    const owner = new Uint32Array(labels.length).fill(UNOWNED);
    shuffledClassIds(labels, C, seed).forEach((ids, c) => {
      if (holders[c].length === 0) return;
      let at = 0;
      evenSplit(ids.length, holders[c].length).forEach((n, j) => {
        for (let i = at; i < at + n; i++) owner[ids[i]] = holders[c][j];
        at += n;
      });
    });
    this.parts = new PartitionBatches(
      this.name,
      owner,
      labels,
      C,
      W,
      opts.batchSize,
      seed,
      (smallest) => `use --batch-size at most ${smallest}, fewer --workers or another --classes-per-node`,
    );
  }

  /** The k classes worker `worker` owns: class worker mod C first, then the others in the order drawn. */
  classesOf(worker: number): number[] {
    this.parts.partition(worker); // range check
    return this.classes[worker].slice();
  }

  /** Classes held by no worker (only when W*k < C), ascending. */
  unusedClasses(): number[] {
    return this.unused.slice();
  }

  describe(): string {
    const { numClasses: c, classesPerNode: k, batchSize: b } = this;
    const w = this.parts.workers;
    const coverage =
      this.unused.length === 0
        ? 'every class is held by some worker'
        : `W*k = ${w * k} < ${c} classes, so ${classes(this.unused.length)} (${this.unused.join(', ')}) ${this.unused.length === 1 ? 'is' : 'are'} held by no worker and never trained on`;
    return (
      `k-classes-per-node: each of ${plural(w, 'worker')} owns its share of ${classes(k)} ` +
      `(worker i: class i mod ${c}${k > 1 ? ` + ${k - 1} seeded other${k > 2 ? 's' : ''}` : ''}), each class split evenly among its holders; ` +
      `${coverage}; partitions of ${this.parts.sizeSummary()}, ${b} per step, reshuffled every local epoch`
    );
  }
}

function classes(n: number): string {
  return `${n} ${n === 1 ? 'class' : 'classes'}`;
}

/** Per worker, its k distinct classes (see the module comment). */
export function assignClasses(workers: number, numClasses: number, k: number, seed: number): number[][] {
  const held = Array.from({ length: workers }, (_, w) => [w % numClasses]);
  // Classes no worker holds yet (only when W < C), dealt round-robin into the free slots.
  const uncovered = permutation(Math.max(0, numClasses - workers), deriveSeed(seed, TAG_UNCOVERED)).map((i) => i + workers);
  const order = permutation(workers, deriveSeed(seed, TAG_DEAL));
  const dealt = Math.min(uncovered.length, workers * (k - 1));
  for (let j = 0; j < dealt; j++) held[order[j % workers]].push(uncovered[j]);
  // Remaining slots: uniform among the classes the worker does not hold (NIID-Bench).
  const rng = new SplitMix32(deriveSeed(seed, TAG_CLASSES));
  for (const classes of held) {
    while (classes.length < k) {
      const c = rng.nextInt(numClasses);
      if (!classes.includes(c)) classes.push(c);
    }
  }
  return held;
}
