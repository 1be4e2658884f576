import { describe, it, expect } from 'vitest';
import { DataError } from './errors';
import { ShardStrategy } from './shard';
import type { StrategyOptions } from './strategy';

const sortedLabels = (sizes: number[]) => Uint8Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
const sorted = (a: ArrayLike<number>) => Array.from(a).sort((x, y) => x - y);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
// Interleaved labels (id order says nothing about the label), uneven classes.
const sizes = [520, 480, 505, 495, 530, 470, 500, 510, 490, 500];
const interleaved = (() => {
  const out: number[] = [];
  const left = sizes.slice();
  for (let i = 0; out.length < 5000; i++) if (left[i % 10]-- > 0) out.push(i % 10);
  return Uint8Array.from(out);
})();
const base: StrategyOptions = { labels: interleaved, numClasses: 10, workers: 7, batchSize: 32, seed: 2 };
const make = (o: Partial<StrategyOptions> = {}) => new ShardStrategy({ ...base, ...o });

describe('shard', () => {
  it('shards are consecutive equal (within 1) cuts of the label-sorted ids, covering every sample', () => {
    for (const shardsPerNode of [1, 2, 3]) {
      const s = make({ shardsPerNode });
      const m = 7 * shardsPerNode;
      const shards = range(m).map((j) => Array.from(s.shard(j)));
      const lengths = shards.map((x) => x.length);
      expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1);
      const all = shards.flat();
      expect(sorted(all)).toEqual(range(5000));
      const labelSeq = all.map((id) => interleaved[id]);
      for (let i = 1; i < labelSeq.length; i++) expect(labelSeq[i]).toBeGreaterThanOrEqual(labelSeq[i - 1]);
      expect(() => s.shard(m)).toThrow(RangeError);
    }
  });

  it('ties within a label are in seeded order, not id order', () => {
    const first = Array.from(make().shard(0));
    expect(first).not.toEqual(sorted(first));
    expect(Array.from(make({ seed: 3 }).shard(0))).not.toEqual(first);
  });

  it('each worker owns exactly shardsPerNode shards, dealt by a seeded permutation', () => {
    for (const shardsPerNode of [1, 2, 4]) {
      const s = make({ shardsPerNode });
      const dealt: number[] = [];
      for (let w = 0; w < 7; w++) {
        const mine = s.shardsOf(w);
        expect(mine).toHaveLength(shardsPerNode);
        dealt.push(...mine);
        // Its partition is exactly the union of its shards: shardsPerNode contiguous label-sorted runs.
        expect(Array.from(s.partition(w))).toEqual(sorted(mine.flatMap((j) => Array.from(s.shard(j)))));
      }
      expect(sorted(dealt)).toEqual(range(7 * shardsPerNode));
    }
    const deals = new Set(range(10).map((seed) => JSON.stringify(range(7).map((w) => make({ seed }).shardsOf(w)))));
    expect(deals.size).toBe(10);
    expect(make().shardsOf(0)).toEqual(make().shardsOf(0));
  });

  it('McMahan setting (equal classes, shards no larger than a class): at most 2*shardsPerNode classes per worker', () => {
    const labels = sortedLabels(Array<number>(10).fill(600)).reverse(); // 6000 samples, 10 classes
    // 10 workers x 2 shards = 20 shards of 300: every shard is one class, so each worker has 1-2 classes.
    const s = new ShardStrategy({ labels, numClasses: 10, workers: 10, batchSize: 50, seed: 1, shardsPerNode: 2 });
    for (const row of s.partitionCounts()) {
      const classes = row.filter((n) => n > 0);
      expect(classes.length).toBeLessThanOrEqual(2);
      for (const n of classes) expect(n % 300).toBe(0);
    }
    // Uneven classes, shards (357, 238) smaller than any class (>= 470) but straddling class boundaries:
    // still <= 2 classes per shard. (With 1 shard per node, shards of 714 can span 3 classes.)
    for (const shardsPerNode of [2, 3]) {
      const t = make({ shardsPerNode });
      for (const row of t.partitionCounts()) expect(row.filter((n) => n > 0).length).toBeLessThanOrEqual(2 * shardsPerNode);
    }
    expect(s.describe()).toMatch(/^shard: the 6000 training samples sorted by label are cut into 20 shards of 300; each of 10 workers owns 2 seeded random shards \((1\.\.)?2 classes per worker\)/);
  });

  it('no sample is reused within a local epoch', () => {
    const s = make();
    for (let w = 0; w < 7; w++) {
      const n = s.partition(w).length; // 5000 / 14 shards: 357 or 358 each, 714..716 per worker
      const ids: number[] = [];
      for (let t = 0; t * 32 < 2 * n; t++) ids.push(...s.batch(t, w));
      expect(new Set(ids.slice(0, n)).size).toBe(n);
      expect(new Set(ids.slice(n, 2 * n)).size).toBe(n);
    }
  });

  it('is deterministic per seed; different seeds differ', () => {
    expect(make().partition(5)).toEqual(make().partition(5));
    expect(make().batch(30, 5)).toEqual(make().batch(30, 5));
    expect(make({ seed: 9 }).partition(5)).not.toEqual(make().partition(5));
  });

  it('validates its options, naming the flag and the numbers', () => {
    expect(() => make({ shardsPerNode: 0 })).toThrow(/^--shards-per-node: must be an integer >= 1, got 0$/);
    expect(() => make({ shardsPerNode: 715, batchSize: 1 })).toThrow(DataError);
    expect(() => make({ shardsPerNode: 715, batchSize: 1 })).toThrow(
      /^--shards-per-node: 7 x 715 = 5005 shards of 5000 training samples would leave shards empty; use at most 714$/,
    );
    expect(() => make({ shardsPerNode: 714, batchSize: 1 })).not.toThrow();
    expect(() => make({ batchSize: 715 })).toThrow(/^--batch-size: shard gives each of 7 workers .* 7 x 715 = 5005 > 5000/);
    // 100 samples, 3 workers x 2 shards: shards of 17,17,17,17,16,16; a worker dealt both 16s owns 32 < 33
    // although 3 x 33 <= 100.
    const small = sortedLabels([50, 50]);
    let short = 0;
    for (let seed = 0; seed < 30; seed++) {
      const o = { labels: small, numClasses: 2, workers: 3, shardsPerNode: 2, seed };
      const sizes = range(3).map((w) => new ShardStrategy({ ...o, batchSize: 1 }).partition(w).length);
      const w = sizes.indexOf(Math.min(...sizes));
      if (sizes[w] < 33) {
        short++;
        expect(() => new ShardStrategy({ ...o, batchSize: 33 })).toThrow(
          new RegExp(`^--batch-size: shard gives worker ${w} only 32 samples, fewer than one batch of 33; use --batch-size at most 32`),
        );
      } else {
        expect(() => new ShardStrategy({ ...o, batchSize: 33 })).not.toThrow();
      }
    }
    expect(short).toBeGreaterThan(0);
  });
});
