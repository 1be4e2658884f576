import { describe, it, expect } from 'vitest';
import { DirichletStrategy, dirichletSplit, MAX_DIRICHLET_DRAWS } from './dirichlet';
import { DataError } from './errors';
import type { StrategyOptions } from './strategy';

const sortedLabels = (sizes: number[]) => Uint8Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
const sizes = [1000, 900, 1100, 1050, 950, 1000, 980, 1020, 1010, 990];
const labels = sortedLabels(sizes);
const base: StrategyOptions = { labels, numClasses: 10, workers: 8, batchSize: 16, seed: 5 };
const make = (o: Partial<StrategyOptions> = {}) => new DirichletStrategy({ ...base, ...o });

/** Mean over workers of the share of its largest class in its partition. */
function meanMaxShare(s: DirichletStrategy): number {
  const rows = s.partitionCounts();
  return rows.reduce((acc, row) => acc + Math.max(...row) / row.reduce((a, b) => a + b, 0), 0) / rows.length;
}

describe('dirichlet', () => {
  it('sizes follow the drawn proportions: worker w gets within 1 of p[c][w] * n_c of class c', () => {
    for (const alpha of [0.1, 0.5, 5]) {
      const s = make({ alpha });
      const p = s.proportions();
      const counts = s.partitionCounts();
      expect(p).toHaveLength(10);
      p.forEach((row, c) => {
        expect(row).toHaveLength(8);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        row.forEach((share, w) => expect(Math.abs(counts[w][c] - share * sizes[c])).toBeLessThan(1.000001));
        expect(counts.reduce((n, r) => n + r[c], 0)).toBe(sizes[c]); // every sample of c is owned
      });
    }
  });

  it('partitions cover the training set (every sample owned once)', () => {
    const s = make();
    const all = new Set<number>();
    for (let w = 0; w < 8; w++) for (const id of s.partition(w)) all.add(id);
    expect(all.size).toBe(labels.length);
  });

  it('smaller alpha gives more skew; huge alpha is close to balanced', () => {
    const mean = (alpha: number) => {
      let sum = 0;
      for (let seed = 0; seed < 10; seed++) sum += meanMaxShare(make({ alpha, seed }));
      return sum / 10;
    };
    const skewed = mean(0.1);
    const mild = mean(1);
    const flat = mean(100);
    expect(skewed).toBeGreaterThan(mild);
    expect(mild).toBeGreaterThan(flat);
    expect(skewed).toBeGreaterThan(0.4);
    expect(flat).toBeLessThan(0.15); // balanced would be ~0.1 (10 classes)

    const huge = make({ alpha: 1e6 }).partitionCounts();
    huge.forEach((row) => row.forEach((n, c) => expect(Math.abs(n - sizes[c] / 8)).toBeLessThanOrEqual(2)));
  });

  it('re-draws until every worker owns at least one batch, and takes the first draw that does', () => {
    // alpha 0.1, 8 workers, B = 400: most draws leave some worker under 400 samples.
    const opts = { ...base, alpha: 0.1, batchSize: 400 };
    let sawRetry = false;
    for (let seed = 0; seed < 10; seed++) {
      const s = make({ ...opts, seed });
      const needed = s.drawsNeeded();
      const minOf = (draw: number) => {
        const { counts } = dirichletSplit(sizes, 8, 0.1, seed, draw);
        return Math.min(...[0, 1, 2, 3, 4, 5, 6, 7].map((w) => counts.reduce((n, row) => n + row[w], 0)));
      };
      for (let d = 0; d < needed - 1; d++) expect(minOf(d)).toBeLessThan(400);
      expect(minOf(needed - 1)).toBeGreaterThanOrEqual(400);
      expect(Math.min(...s.partitionCounts().map((row) => row.reduce((a, b) => a + b, 0)))).toBeGreaterThanOrEqual(400);
      expect(s.proportions()).toEqual(dirichletSplit(sizes, 8, 0.1, seed, needed - 1).proportions);
      if (needed > 1) {
        sawRetry = true;
        expect(s.describe()).toContain(`(draw ${needed}, re-drawn until every worker owns >= 400)`);
      }
    }
    expect(sawRetry).toBe(true);
  });

  it('gives up after MAX_DIRICHLET_DRAWS with a DataError naming --alpha and why', () => {
    // alpha 0.001 gives each class (almost) entirely to one worker: 2 classes never feed 8 workers.
    const two = sortedLabels([800, 800]);
    const make2 = () => new DirichletStrategy({ labels: two, numClasses: 2, workers: 8, batchSize: 50, seed: 1, alpha: 0.001 });
    expect(make2).toThrow(DataError);
    expect(make2).toThrow(
      new RegExp(
        `^--alpha: 0.001 is too skewed for 8 workers with --batch-size 50: in ${MAX_DIRICHLET_DRAWS} Dirichlet draws some worker always owned fewer than 50 samples \\(at best \\d+ for the smallest\\); use a larger --alpha`,
      ),
    );
  });

  it('an impossible batch size is a --batch-size error up front', () => {
    expect(() => make({ batchSize: 1252 })).toThrow(/^--batch-size: dirichlet gives each of 8 workers .* 8 x 1252 = 10016 > 10000/);
  });

  it('is deterministic per seed; different seeds differ', () => {
    expect(make().proportions()).toEqual(make().proportions());
    expect(make().partition(3)).toEqual(make().partition(3));
    expect(make({ seed: 6 }).proportions()).not.toEqual(make().proportions());
    expect(make({ seed: 6 }).partition(3)).not.toEqual(make().partition(3));
  });

  it('validates --alpha', () => {
    for (const bad of [0, -0.5, NaN, Infinity]) expect(() => make({ alpha: bad })).toThrow(/^--alpha: must be a number > 0/);
    expect(make().describe()).toMatch(/^dirichlet: each class is split over 8 workers by proportions drawn from Dir\(0.5\)/);
  });
});
