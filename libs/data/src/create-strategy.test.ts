import { describe, it, expect } from 'vitest';
import { createStrategy } from './create-strategy';
import { DataError } from './errors';
import { labelHistogram } from './histogram';
import type { StrategyOptions } from './strategy';
import { STRATEGY_DEFAULTS, STRATEGY_NAMES } from './strategy';

const labels = Uint8Array.from({ length: 400 }, (_, i) => i % 4);
const base: StrategyOptions = { labels, numClasses: 4, workers: 2, batchSize: 8, seed: 1 };

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected a DataError');
}

describe('createStrategy', () => {
  it('builds every named strategy, each describing itself in one line', () => {
    for (const name of STRATEGY_NAMES) {
      const s = createStrategy(name, base);
      expect(s.name).toBe(name);
      expect(s.batch(0, 1)).toHaveLength(8);
      expect(s.describe()).toMatch(new RegExp(`^${name}: [^\\n]+$`));
    }
  });

  it('an unknown name lists the allowed names', () => {
    const msg = messageOf(() => createStrategy('round-robin', base));
    expect(msg).toMatch(/^--strategy: unknown strategy "round-robin"/);
    for (const name of STRATEGY_NAMES) expect(msg).toContain(name);
  });

  it.each(STRATEGY_NAMES)('%s validates the shared options, naming the field', (name) => {
    expect(messageOf(() => createStrategy(name, { ...base, workers: 0 }))).toMatch(/^--workers:/);
    expect(messageOf(() => createStrategy(name, { ...base, workers: 1.5 }))).toMatch(/^--workers:/);
    expect(messageOf(() => createStrategy(name, { ...base, batchSize: 0 }))).toMatch(/^--batch-size:/);
    expect(messageOf(() => createStrategy(name, { ...base, seed: NaN }))).toMatch(/^--seed:/);
    expect(messageOf(() => createStrategy(name, { ...base, labels: new Uint8Array(0) }))).toMatch(/^labels: the training set is empty/);
    expect(messageOf(() => createStrategy(name, { ...base, labels: Uint8Array.from([0, 1, 3, 3]) }))).toMatch(
      /^labels: class 2 has no training samples/,
    );
    expect(messageOf(() => createStrategy(name, { ...base, labels: Uint8Array.from([0, 1, 2, 3, 4]) }))).toMatch(
      /^labels: sample 4 has label 4, outside 0..3/,
    );
  });

  it('order/runLength are only for sequential-single-class (their defaults are tolerated elsewhere)', () => {
    expect(messageOf(() => createStrategy('iid', { ...base, order: 'random' }))).toMatch(
      /^--order: only applies to --strategy sequential-single-class/,
    );
    expect(messageOf(() => createStrategy('stratified', { ...base, runLength: 5 }))).toMatch(/^--run-length: only applies/);
    expect(() => createStrategy('label-per-node', { ...base, order: 'cyclic', runLength: 1 })).not.toThrow();
  });

  it('classesPerNode/alpha/shardsPerNode are only for their strategy (their defaults are tolerated elsewhere)', () => {
    const misuse: [string, Partial<StrategyOptions>, string, string][] = [
      ['iid', { classesPerNode: 3 }, '--classes-per-node', 'k-classes-per-node'],
      ['dirichlet', { classesPerNode: 1 }, '--classes-per-node', 'k-classes-per-node'],
      ['k-classes-per-node', { alpha: 0.1 }, '--alpha', 'dirichlet'],
      ['shard', { alpha: 1 }, '--alpha', 'dirichlet'],
      ['label-per-node', { shardsPerNode: 3 }, '--shards-per-node', 'shard'],
      ['dirichlet', { shardsPerNode: 1 }, '--shards-per-node', 'shard'],
      ['shard', { order: 'random' }, '--order', 'sequential-single-class'],
      ['k-classes-per-node', { runLength: 2 }, '--run-length', 'sequential-single-class'],
    ];
    for (const [name, extra, flag, owner] of misuse) {
      expect(messageOf(() => createStrategy(name, { ...base, ...extra }))).toBe(`${flag}: only applies to --strategy ${owner}, not ${name}`);
    }
    const defaults = { order: 'cyclic', runLength: 1, classesPerNode: 2, alpha: 0.5, shardsPerNode: 2 } as const;
    expect(defaults).toEqual(STRATEGY_DEFAULTS);
    for (const name of STRATEGY_NAMES) expect(() => createStrategy(name, { ...base, ...defaults })).not.toThrow();
    // A bad value is reported as bad, whatever the strategy.
    expect(messageOf(() => createStrategy('iid', { ...base, alpha: -1 }))).toMatch(/^--alpha: must be a number > 0/);
    expect(messageOf(() => createStrategy('iid', { ...base, shardsPerNode: 0 }))).toMatch(/^--shards-per-node: must be an integer >= 1/);
  });

  it('batch() rejects steps and workers that do not exist', () => {
    for (const name of STRATEGY_NAMES) {
      const s = createStrategy(name, base);
      expect(() => s.batch(-1, 0)).toThrow(RangeError);
      expect(() => s.batch(0, 2)).toThrow(RangeError);
      expect(() => s.batch(0.5, 0)).toThrow(RangeError);
    }
  });

  // Its speed (O(batch), not O(step)) is measured in `npm run bench` (section "data").
  it('every strategy answers step 10^5 on 10^7 samples', () => {
    const big = new Uint8Array(10_000_000);
    for (let i = 0; i < big.length; i++) big[i] = Math.imul(i, 0x9e3779b1) >>> 30; // scrambled, roughly balanced
    for (const name of STRATEGY_NAMES) {
      const s = createStrategy(name, { labels: big, numClasses: 4, workers: 4, batchSize: 128, seed: 1 });
      for (let t = 100_000; t < 100_050; t++) for (let w = 0; w < 4; w++) expect(s.batch(t, w)).toHaveLength(128);
    }
  });
});

describe('labelHistogram', () => {
  it('counts per worker and class over the given steps', () => {
    const s = createStrategy('label-per-node', { ...base, workers: 2 });
    // Worker 0 sees classes 0,1,2 over 3 steps, worker 1 sees 1,2,3: 8 samples each.
    expect(labelHistogram(s, labels, 4, 2, 3)).toEqual([
      [8, 8, 8, 0],
      [0, 8, 8, 8],
    ]);
    const iid = labelHistogram(createStrategy('iid', base), labels, 4, 2, 25);
    // 25 steps x 2 workers x 8 = 400 = one epoch: every sample once.
    expect(iid[0].map((n, c) => n + iid[1][c])).toEqual([100, 100, 100, 100]);
  });
});
