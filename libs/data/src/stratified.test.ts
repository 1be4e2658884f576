import { describe, it, expect } from 'vitest';
import { DataError } from './errors';
import { LabelPerNodeStrategy } from './label-per-node';
import { StratifiedStrategy } from './stratified';

const sortedLabels = (sizes: number[]) => Uint8Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
const sorted = (a: ArrayLike<number>) => Array.from(a).sort((x, y) => x - y);
// Uneven classes of ~1000: 200 steps x 32 per class walks through 5-7 class-epochs of each.
const sizes = [1000, 1100, 900, 1210];
const labels = sortedLabels(sizes);

describe('stratified', () => {
  it('each batch holds B/C samples of every class, grouped by class, class 0 first', () => {
    const s = new StratifiedStrategy({ labels, numClasses: 4, workers: 3, batchSize: 40, seed: 1 });
    for (let t = 0; t < 10; t++) {
      for (let w = 0; w < 3; w++) {
        const batch = s.batch(t, w);
        expect(Array.from(batch, (id) => labels[id])).toEqual([0, 1, 2, 3].flatMap((c) => Array<number>(10).fill(c)));
      }
    }
  });

  it('W=1, B=4*32 gives exactly the samples of label-per-node W=4, B=32 at every step (200 steps)', () => {
    const stratified = new StratifiedStrategy({ labels, numClasses: 4, workers: 1, batchSize: 128, seed: 42 });
    const perNode = new LabelPerNodeStrategy({ labels, numClasses: 4, workers: 4, batchSize: 32, seed: 42 });
    for (let t = 0; t < 200; t++) {
      const spread = [0, 1, 2, 3].flatMap((w) => Array.from(perNode.batch(t, w)));
      expect(sorted(stratified.batch(t, 0))).toEqual(sorted(spread));
    }
  });

  it('in general, W workers x B equals label-per-node with W*C workers x B/C', () => {
    const stratified = new StratifiedStrategy({ labels, numClasses: 4, workers: 2, batchSize: 64, seed: 3 });
    const perNode = new LabelPerNodeStrategy({ labels, numClasses: 4, workers: 8, batchSize: 16, seed: 3 });
    for (let t = 0; t < 100; t++) {
      const a = [0, 1].flatMap((w) => Array.from(stratified.batch(t, w)));
      const b = Array.from({ length: 8 }, (_, w) => Array.from(perNode.batch(t, w))).flat();
      expect(sorted(a)).toEqual(sorted(b));
    }
  });

  it('never reuses a sample of a class within its class-epoch', () => {
    const s = new StratifiedStrategy({ labels, numClasses: 4, workers: 2, batchSize: 128, seed: 8 });
    const perClass: number[][] = [[], [], [], []];
    for (let t = 0; t < 60; t++) for (let w = 0; w < 2; w++) for (const id of s.batch(t, w)) perClass[labels[id]].push(id);
    perClass.forEach((ids, c) => {
      for (let e = 0; (e + 1) * sizes[c] <= ids.length; e++) {
        expect(new Set(ids.slice(e * sizes[c], (e + 1) * sizes[c])).size).toBe(sizes[c]);
      }
    });
  });

  it('is deterministic per seed; different seeds differ', () => {
    const make = (seed: number) => new StratifiedStrategy({ labels, numClasses: 4, workers: 2, batchSize: 32, seed });
    expect(make(1).batch(3, 1)).toEqual(make(1).batch(3, 1));
    expect(make(2).batch(3, 1)).not.toEqual(make(1).batch(3, 1));
  });

  it('rejects a batch size not divisible by the class count, saying what divides', () => {
    const make = (batchSize: number) => new StratifiedStrategy({ labels, numClasses: 4, workers: 1, batchSize, seed: 1 });
    expect(() => make(130)).toThrow(DataError);
    expect(() => make(130)).toThrow('--batch-size: stratified needs a multiple of the 4 classes (an equal share of each), got 130; try 128 or 132');
    expect(() => make(3)).toThrow(/try 4$/);
    expect(() => make(4 * 901)).toThrow(/^--batch-size: stratified takes 901 samples of one class at a time, but class 2 has only 900/);
  });
});
