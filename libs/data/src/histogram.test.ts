import { describe, it, expect } from 'vitest';
import { createStrategy } from './create-strategy';
import { formatHistogram, labelHistogram, stepClassMix } from './histogram';
import { partitionSizes } from './partition';

describe('formatHistogram', () => {
  it('prints a header, one row per worker and a totals row, with a totals column', () => {
    const text = formatHistogram([
      [32, 0, 7],
      [0, 1280, 3],
    ]);
    expect(text).toBe(
      [
        'worker   0     1   2  total',
        '     0  32     0   7     39',
        '     1   0  1280   3   1283',
        ' total  32  1280  10   1322',
      ].join('\n'),
    );
  });

  it('uses class names as column headers and keeps every line the same width', () => {
    const names = ['T-shirt/top', 'Trouser', 'Pullover'];
    const hist = [
      [5, 6, 7],
      [100000, 0, 1],
      [0, 0, 0],
    ];
    const lines = formatHistogram(hist, names).split('\n');
    expect(lines).toHaveLength(hist.length + 2);
    expect(lines[0].trim().split(/\s{2,}/)).toEqual(['worker', ...names, 'total']);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    for (const line of lines) expect(line.trim().split(/\s+/)).toHaveLength(names.length + 2);
    expect(lines[2].trim().split(/\s+/)).toEqual(['1', '100000', '0', '1', '100001']);
    expect(lines[4].trim().split(/\s+/)).toEqual(['total', '100005', '6', '8', '100019']);
  });

  it('rejects rows that do not match the classes', () => {
    expect(() => formatHistogram([[1, 2], [3]])).toThrow(RangeError);
    expect(() => formatHistogram([[1, 2]], ['a', 'b', 'c'])).toThrow(RangeError);
  });

  it('prints the histograms of any strategy: over steps (labelHistogram) or of partitions (partitionSizes)', () => {
    const labels = Uint8Array.from({ length: 400 }, (_, i) => i % 4);
    const opts = { labels, numClasses: 4, workers: 2, batchSize: 8, seed: 1 };
    const overSteps = formatHistogram(labelHistogram(createStrategy('label-per-node', opts), labels, 4, 2, 3));
    expect(overSteps.split('\n')[3]).toBe(' total  8  16  16  8     48');
    const shard = createStrategy('shard', opts);
    const owned = formatHistogram(partitionSizes(shard)!);
    expect(owned.split('\n').at(-1)).toBe(' total  100  100  100  100    400');
  });

  it('step by step, shows what a run-long histogram hides: one class per worker, one class per step, or every class everywhere', () => {
    const labels = Uint8Array.from({ length: 4000 }, (_, i) => i % 4);
    const opts = { labels, numClasses: 4, workers: 4, batchSize: 32, seed: 1 };
    const classesOf = (counts: number[]) => counts.flatMap((n, c) => (n > 0 ? [c] : []));
    const lpn = stepClassMix(createStrategy('label-per-node', opts), labels, 4, 4, 8);
    expect(lpn).toHaveLength(8);
    for (const step of lpn) {
      expect(step.map((counts) => counts.reduce((a, b) => a + b, 0))).toEqual([32, 32, 32, 32]);
      expect(new Set(step.map((counts) => classesOf(counts).join())).size).toBe(4);
      for (const counts of step) expect(classesOf(counts)).toHaveLength(1);
    }
    const sequential = stepClassMix(createStrategy('sequential-single-class', { ...opts, order: 'cyclic', runLength: 1 }), labels, 4, 4, 8);
    sequential.forEach((step, t) => {
      for (const counts of step) expect(classesOf(counts)).toEqual([t % 4]);
    });
    const iid = stepClassMix(createStrategy('iid', opts), labels, 4, 4, 8);
    expect(iid.flat().filter((counts) => classesOf(counts).length === 4).length).toBeGreaterThan(28);
  });
});
