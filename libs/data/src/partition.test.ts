import { describe, it, expect } from 'vitest';
import { createStrategy } from './create-strategy';
import { labelHistogram } from './histogram';
import type { PartitionStrategy } from './partition';
import { evenSplit, isPartitionStrategy, partitionSizes } from './partition';
import type { StrategyOptions } from './strategy';

const PARTITIONS = ['k-classes-per-node', 'dirichlet', 'shard'] as const;
const sortedLabels = (sizes: number[]) => Uint8Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
const sorted = (a: ArrayLike<number>) => Array.from(a).sort((x, y) => x - y);
// Uneven classes, so partition sizes are not multiples of B and batches straddle local epochs.
const labels = sortedLabels([410, 380, 455, 397, 362, 401]);
const opts: StrategyOptions = { labels, numClasses: 6, workers: 4, batchSize: 24, seed: 7 };
const make = (name: string, o: Partial<StrategyOptions> = {}) => createStrategy(name, { ...opts, ...o }) as PartitionStrategy;

describe('partition strategies (shared behaviour)', () => {
  it.each(PARTITIONS)('%s: partitions are disjoint, ascending, and partitionSizes counts them by class', (name) => {
    const s = make(name);
    expect(isPartitionStrategy(s)).toBe(true);
    const counts = partitionSizes(s)!;
    const seen = new Set<number>();
    for (let w = 0; w < 4; w++) {
      const part = s.partition(w);
      expect(Array.from(part)).toEqual(sorted(part));
      for (const id of part) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
      const byClass = new Array<number>(6).fill(0);
      for (const id of part) byClass[labels[id]]++;
      expect(counts[w]).toEqual(byClass);
    }
    // A copy each time: callers cannot corrupt the strategy.
    s.partition(0).fill(0);
    expect(s.partition(0)[1]).not.toBe(0);
  });

  it.each(PARTITIONS)('%s: a worker reads its own partition, once per local epoch, reshuffled each time', (name) => {
    const s = make(name);
    let straddling = 0;
    for (let w = 0; w < 4; w++) {
      const part = Array.from(s.partition(w));
      const n = part.length;
      if (n % 24 !== 0) straddling++; // some batch of this worker takes the tail of one local epoch and the head of the next
      const steps = Math.ceil((3 * n) / 24);
      const ids: number[] = [];
      for (let t = 0; t < steps; t++) ids.push(...s.batch(t, w));
      const epochs = [0, 1, 2].map((e) => ids.slice(e * n, (e + 1) * n));
      for (const epoch of epochs) expect(sorted(epoch)).toEqual(part); // every owned sample exactly once
      expect(epochs[1]).not.toEqual(epochs[0]);
      expect(epochs[2]).not.toEqual(epochs[1]);
    }
    expect(straddling).toBeGreaterThan(0);
  });

  it.each(PARTITIONS)('%s: batch(t, w) does not depend on earlier calls (closed form)', (name) => {
    const a = make(name);
    const b = make(name);
    const expected = Array.from({ length: 60 }, (_, t) => a.batch(t, 2));
    for (const t of [59, 3, 40, 0, 17, 58]) expect(b.batch(t, 2)).toEqual(expected[t]);
  });

  it.each(PARTITIONS)('%s: labelHistogram over one local epoch equals the partition counts', (name) => {
    // B = 1: after n_w steps worker w has seen its partition exactly once.
    const s = make(name, { batchSize: 1 });
    const counts = partitionSizes(s)!;
    const minSize = Math.min(...counts.map((row) => row.reduce((x, y) => x + y, 0)));
    const hist = labelHistogram(s, labels, 6, 4, minSize);
    const smallest = counts.findIndex((row) => row.reduce((x, y) => x + y, 0) === minSize);
    expect(hist[smallest]).toEqual(counts[smallest]);
  });

  it.each(PARTITIONS)('%s: is deterministic per seed; different seeds differ', (name) => {
    expect(make(name).partition(1)).toEqual(make(name).partition(1));
    expect(make(name).batch(11, 3)).toEqual(make(name).batch(11, 3));
    expect(make(name, { seed: 8 }).partition(1)).not.toEqual(make(name).partition(1));
    expect(make(name, { seed: 8 }).batch(11, 3)).not.toEqual(make(name).batch(11, 3));
  });

  it.each(PARTITIONS)('%s: rejects steps and workers that do not exist', (name) => {
    const s = make(name);
    expect(() => s.batch(-1, 0)).toThrow(RangeError);
    expect(() => s.batch(0, 4)).toThrow(RangeError);
    expect(() => s.partition(4)).toThrow(RangeError);
  });

  it('other strategies have no fixed partition', () => {
    for (const name of ['iid', 'label-per-node', 'sequential-single-class', 'stratified']) {
      const s = createStrategy(name, opts);
      expect(isPartitionStrategy(s)).toBe(false);
      expect(partitionSizes(s)).toBeNull();
    }
  });

  it('evenSplit splits like numpy array_split (sizes within 1, larger first)', () => {
    expect(evenSplit(10, 3)).toEqual([4, 3, 3]);
    expect(evenSplit(9, 3)).toEqual([3, 3, 3]);
    expect(evenSplit(2, 4)).toEqual([1, 1, 0, 0]);
  });
});
