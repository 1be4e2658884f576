import { describe, it, expect } from 'vitest';
import { DataError } from './errors';
import { assignClasses, KClassesPerNodeStrategy } from './k-classes-per-node';
import type { StrategyOptions } from './strategy';

const sortedLabels = (sizes: number[]) => Uint8Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
const sorted = (a: ArrayLike<number>) => Array.from(a).sort((x, y) => x - y);
const sizes = [500, 430, 610, 505, 470, 520, 499, 560, 480, 515];
const labels = sortedLabels(sizes);
const base: StrategyOptions = { labels, numClasses: 10, workers: 6, batchSize: 16, seed: 3 };
const make = (o: Partial<StrategyOptions> = {}) => new KClassesPerNodeStrategy({ ...base, ...o });

/** Holders of each class according to classesOf. */
function holders(s: KClassesPerNodeStrategy, workers: number, numClasses = 10): number[][] {
  const h: number[][] = Array.from({ length: numClasses }, () => []);
  for (let w = 0; w < workers; w++) for (const c of s.classesOf(w)) h[c].push(w);
  return h;
}

describe('k-classes-per-node', () => {
  it.each([
    [6, 1],
    [6, 2],
    [6, 3],
    [12, 2],
    [3, 4],
    [2, 10],
  ])('W=%i, k=%i: worker i holds k distinct classes, class i mod C among them', (workers, k) => {
    const s = make({ workers, classesPerNode: k });
    for (let w = 0; w < workers; w++) {
      const classes = s.classesOf(w);
      expect(classes).toHaveLength(k);
      expect(new Set(classes).size).toBe(k);
      expect(classes[0]).toBe(w % 10);
    }
  });

  it("a worker's batches over a local epoch contain exactly its k classes, and its partition is exactly its share", () => {
    for (const [workers, k] of [
      [6, 2],
      [4, 3],
      [12, 1],
    ]) {
      const s = make({ workers, classesPerNode: k });
      for (let w = 0; w < workers; w++) {
        const n = s.partition(w).length;
        const ids: number[] = [];
        for (let t = 0; t * 16 < n; t++) ids.push(...s.batch(t, w));
        const epoch = ids.slice(0, n);
        expect(sorted(epoch)).toEqual(Array.from(s.partition(w))); // no reuse, nothing foreign
        expect(new Set(epoch.map((id) => labels[id]))).toEqual(new Set(s.classesOf(w)));
      }
    }
  });

  it('each class is split evenly (within 1) among the workers holding it, and every sample is owned', () => {
    for (const [workers, k] of [
      [6, 2],
      [7, 3],
      [3, 4],
      [2, 10],
    ]) {
      const s = make({ workers, classesPerNode: k });
      const counts = s.partitionCounts();
      holders(s, workers).forEach((h, c) => {
        expect(h.length).toBeGreaterThan(0); // W*k >= C: every class is held
        const shares = h.map((w) => counts[w][c]);
        expect(shares.reduce((a, b) => a + b, 0)).toBe(sizes[c]);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
        // Non-holders own none of it.
        for (let w = 0; w < workers; w++) if (!h.includes(w)) expect(counts[w][c]).toBe(0);
      });
      const all = new Set<number>();
      for (let w = 0; w < workers; w++) for (const id of s.partition(w)) all.add(id);
      expect(all.size).toBe(labels.length);
    }
  });

  it('W*k >= C covers every class even when W < C (many seeds)', () => {
    for (let seed = 0; seed < 200; seed++) {
      for (const [workers, k] of [
        [3, 4],
        [5, 2],
        [4, 3],
        [2, 5],
      ]) {
        const held = new Set(assignClasses(workers, 10, k, seed).flat());
        expect(held.size).toBe(10);
      }
    }
  });

  it('W >= C: extra classes are seeded random, not a fixed pattern', () => {
    const extras = new Set<string>();
    for (let seed = 0; seed < 20; seed++) extras.add(assignClasses(10, 10, 3, seed).map((c) => c.join(',')).join(';'));
    expect(extras.size).toBeGreaterThan(15);
  });

  it('W*k < C: W*k distinct classes are used, the rest are unused and described', () => {
    const s = make({ workers: 3, classesPerNode: 3 });
    const used = new Set([0, 1, 2].flatMap((w) => s.classesOf(w)));
    expect(used.size).toBe(9);
    const unused = s.unusedClasses();
    expect(unused).toHaveLength(1);
    expect(used.has(unused[0])).toBe(false);
    const owned = [0, 1, 2].reduce((n, w) => n + s.partition(w).length, 0);
    expect(owned).toBe(labels.length - sizes[unused[0]]);
    expect(s.partitionCounts().every((row) => row[unused[0]] === 0)).toBe(true);
    expect(s.describe()).toContain(`W*k = 9 < 10 classes, so 1 class (${unused[0]}) is held by no worker`);
    expect(make({ workers: 6 }).describe()).toContain('every class is held by some worker');
    expect(make({ workers: 6 }).unusedClasses()).toEqual([]);
  });

  it('k = C gives every worker an even share of every class', () => {
    const s = make({ workers: 4, classesPerNode: 10 });
    for (const row of s.partitionCounts()) row.forEach((n, c) => expect(Math.abs(n - sizes[c] / 4)).toBeLessThanOrEqual(1));
  });

  it('is deterministic per seed; different seeds differ', () => {
    expect(make().classesOf(4)).toEqual(make().classesOf(4));
    expect(make().partition(4)).toEqual(make().partition(4));
    const classesBySeed = new Set(Array.from({ length: 10 }, (_, seed) => JSON.stringify(make({ seed }).classesOf(0))));
    expect(classesBySeed.size).toBeGreaterThan(1);
    expect(make({ seed: 4 }).batch(0, 0)).not.toEqual(make().batch(0, 0));
  });

  it('validates its options, naming the flag and the numbers', () => {
    expect(() => make({ classesPerNode: 11 })).toThrow(DataError);
    expect(() => make({ classesPerNode: 11 })).toThrow(/^--classes-per-node: must be at most the 10 classes, got 11$/);
    expect(() => make({ classesPerNode: 0 })).toThrow(/^--classes-per-node: must be an integer >= 1, got 0$/);
    expect(() => make({ classesPerNode: 1.5 })).toThrow(/^--classes-per-node:/);
    // 12 workers, k = 1: classes 0 and 1 are split in two (~250 and 215 samples).
    expect(() => make({ workers: 12, classesPerNode: 1, batchSize: 216 })).toThrow(
      /^--batch-size: k-classes-per-node gives worker 1 only 215 samples, fewer than one batch of 216; use --batch-size at most 215/,
    );
    expect(() => make({ workers: 12, classesPerNode: 1, batchSize: 215 })).not.toThrow();
  });
});
