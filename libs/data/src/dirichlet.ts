/**
 * dirichlet: NIID-Bench's "p_k ~ Dir(beta)" label-distribution skew (Li et al., ICDE 2022; the
 * scheme of Yurochkin et al. 2019 and Wang et al. 2020). A partition strategy (see partition).
 *
 * For every class c, proportions p_c = (p_c,0 .. p_c,W-1) over the workers are drawn from the
 * symmetric Dirichlet Dir(alpha) (seeded Gamma draws, see gamma), and the class's samples, in a
 * seeded order (class-epoch 0 of the per-class streams), are cut at floor(cumsum(p_c) * n_c) as
 * NIID-Bench does: worker w gets within one sample of p_c,w * n_c of class c. Small alpha (0.1)
 * gives each worker a few dominant classes; large alpha (100) approaches an iid split.
 *
 * Like NIID-Bench (which requires 10 samples per party), the proportions are re-drawn until every
 * worker owns at least one batch (B samples): draw d uses seed deriveSeed(seed, 'dir', d, c).
 * After MAX_DIRICHLET_DRAWS failed draws it is a DataError naming --alpha.
 *
 * Unlike NIID-Bench's code, proportions are not zeroed for parties that already hold N/W samples:
 * each class follows its Dir(alpha) draw exactly, so partition sizes vary (more so for small alpha).
 */
import { DataError } from './errors';
import { sampleDirichlet } from './gamma';
import { PartitionBatches, PartitionedStrategy, shuffledClassIds, UNOWNED } from './partition';
import { deriveSeed, SplitMix32 } from './prng';
import type { StrategyOptions } from './strategy';
import { plural, STRATEGY_DEFAULTS, validateStrategyOptions } from './strategy';

const TAG_DIRICHLET = 0x646972; // 'dir'

/** Re-draws of all class proportions before giving up on "every worker owns >= B samples". */
export const MAX_DIRICHLET_DRAWS = 1000;

/** One draw of the split: per class its proportions over workers, and the resulting sample counts. */
export interface DirichletSplit {
  /** proportions[c][w]: the Dir(alpha) share of class c drawn for worker w. */
  proportions: number[][];
  /** counts[c][w]: samples of class c worker w gets (sum over w = class size). */
  counts: number[][];
}

/** Draw number `draw` of the split (pure; the strategy takes the first draw that fits). */
export function dirichletSplit(classSizes: readonly number[], workers: number, alpha: number, seed: number, draw: number): DirichletSplit {
  const proportions: number[][] = [];
  const counts: number[][] = [];
  classSizes.forEach((n, c) => {
    const p = sampleDirichlet(new SplitMix32(deriveSeed(seed, TAG_DIRICHLET, draw, c)), alpha, workers);
    const row = new Array<number>(workers);
    let cumulative = 0;
    let cut = 0;
    for (let w = 0; w < workers; w++) {
      cumulative += p[w];
      const next = w === workers - 1 ? n : Math.min(n, Math.max(cut, Math.floor(cumulative * n)));
      row[w] = next - cut;
      cut = next;
    }
    proportions.push(Array.from(p));
    counts.push(row);
  });
  return { proportions, counts };
}

export class DirichletStrategy extends PartitionedStrategy {
  readonly name = 'dirichlet';
  protected readonly parts: PartitionBatches;
  private readonly split: DirichletSplit;
  private readonly alpha: number;
  private readonly draws: number;
  private readonly batchSize: number;

  constructor(opts: StrategyOptions) {
    super();
    const classSizes = validateStrategyOptions(this.name, opts);
    const { labels, numClasses: C, workers: W, batchSize: B, seed } = opts;
    const alpha = opts.alpha ?? STRATEGY_DEFAULTS.alpha;
    const N = labels.length;
    if (N < W * B) {
      throw new DataError(
        `--batch-size: dirichlet gives each of ${plural(W, 'worker')} a share of the ${N} training samples and each needs at least one batch of ${B}, but ${W} x ${B} = ${W * B} > ${N}; use a smaller --batch-size or fewer --workers`,
      );
    }
    let best = -1;
    let chosen: { split: DirichletSplit; draw: number } | undefined;
    for (let draw = 0; draw < MAX_DIRICHLET_DRAWS && !chosen; draw++) {
      const split = dirichletSplit(classSizes, W, alpha, seed, draw);
      const smallest = Math.min(...workerTotals(split.counts, W));
      if (smallest >= B) chosen = { split, draw };
      best = Math.max(best, smallest);
    }
    if (!chosen) {
      throw new DataError(
        `--alpha: ${alpha} is too skewed for ${plural(W, 'worker')} with --batch-size ${B}: in ${MAX_DIRICHLET_DRAWS} Dirichlet draws some worker always owned fewer than ${B} samples (at best ${best} for the smallest); use a larger --alpha, fewer --workers or a smaller --batch-size`,
      );
    }
    this.split = chosen.split;
    this.draws = chosen.draw + 1;
    this.alpha = alpha;
    this.batchSize = B;

    const owner = new Uint32Array(N).fill(UNOWNED);
    shuffledClassIds(labels, C, seed).forEach((ids, c) => {
      let at = 0;
      this.split.counts[c].forEach((n, w) => {
        for (let i = at; i < at + n; i++) owner[ids[i]] = w;
        at += n;
      });
    });
    // Every worker has >= B samples by construction; the check inside stays as a safety net.
    this.parts = new PartitionBatches(this.name, owner, labels, C, W, B, seed, () => 'use a larger --alpha');
  }

  /** proportions[c][w]: the Dir(alpha) share of class c drawn for worker w (the accepted draw). */
  proportions(): number[][] {
    return this.split.proportions.map((row) => row.slice());
  }

  /** How many draws it took until every worker owned at least B samples (1 = the first). */
  drawsNeeded(): number {
    return this.draws;
  }

  describe(): string {
    const w = this.parts.workers;
    const redraws = this.draws === 1 ? 'first draw' : `draw ${this.draws}`;
    return (
      `dirichlet: each class is split over ${plural(w, 'worker')} by proportions drawn from Dir(${this.alpha}) ` +
      `(${redraws}, re-drawn until every worker owns >= ${this.batchSize}); ` +
      `partitions of ${this.parts.sizeSummary()}, ${this.batchSize} per step, reshuffled every local epoch`
    );
  }
}

function workerTotals(counts: readonly number[][], workers: number): number[] {
  const totals = new Array<number>(workers).fill(0);
  for (const row of counts) for (let w = 0; w < workers; w++) totals[w] += row[w];
  return totals;
}
