import { describe, it, expect } from 'vitest';
import { ClassStreams } from './class-streams';
import { DataError } from './errors';
import { labelHistogram } from './histogram';
import { LabelPerNodeStrategy } from './label-per-node';
import { permutation } from './prng';

const sortedLabels = (sizes: number[]) => Uint8Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
const labels = sortedLabels([300, 250, 400, 350]);
const make = (workers: number, batchSize = 16, seed = 1) =>
  new LabelPerNodeStrategy({ labels, numClasses: 4, workers, batchSize, seed });

describe('label-per-node', () => {
  it('each batch holds only class (w + t) mod C', () => {
    for (const workers of [1, 3, 4, 6]) {
      const s = make(workers);
      for (let t = 0; t < 20; t++) {
        for (let w = 0; w < workers; w++) {
          const batch = s.batch(t, w);
          expect(batch).toHaveLength(16);
          expect(new Set(Array.from(batch, (id) => labels[id]))).toEqual(new Set([(w + t) % 4]));
          expect(s.classAt(t, w)).toBe((w + t) % 4);
        }
      }
    }
  });

  it.each([4, 3, 6])('W=%i, C=4: every window of C steps gives each class exactly W batches', (workers) => {
    const s = make(workers);
    for (let start = 0; start < 12; start++) {
      const batchesPerClass = [0, 0, 0, 0];
      for (let t = start; t < start + 4; t++) for (let w = 0; w < workers; w++) batchesPerClass[s.classAt(t, w)]++;
      expect(batchesPerClass).toEqual([workers, workers, workers, workers]);
    }
    // The same seen through the samples: over 8 steps each worker sees every class equally.
    const hist = labelHistogram(s, labels, 4, workers, 8);
    for (const perWorker of hist) expect(perWorker).toEqual([32, 32, 32, 32]);
  });

  it('a single step is balanced when W is a multiple of C, skewed but rotating otherwise', () => {
    const classesOfStep = (workers: number, t: number) => Array.from({ length: workers }, (_, w) => make(workers).classAt(t, w));
    expect(classesOfStep(4, 5).sort()).toEqual([0, 1, 2, 3]);
    expect(classesOfStep(3, 0)).toEqual([0, 1, 2]);
    expect(classesOfStep(3, 1)).toEqual([1, 2, 3]);
    expect(classesOfStep(6, 0)).toEqual([0, 1, 2, 3, 0, 1]);
    expect(classesOfStep(6, 1)).toEqual([1, 2, 3, 0, 1, 2]);
  });

  it('the k-th assignment of class c gets chunk k of class c (closed form == step-by-step count)', () => {
    for (const workers of [1, 3, 4, 6]) {
      const s = make(workers, 24, 5);
      const streams = new ClassStreams(labels, 4, 5);
      const seen = [0, 0, 0, 0];
      const expected = new Map<string, Uint32Array>();
      for (let t = 0; t < 60; t++) {
        for (let w = 0; w < workers; w++) {
          const c = (w + t) % 4;
          const chunk = new Uint32Array(24);
          streams.chunk(c, seen[c]++, 24, chunk);
          expected.set(`${t}/${w}`, chunk);
        }
      }
      // Ask in a scrambled order: batch() must not depend on the calls before it.
      const keys = [...expected.keys()];
      for (const k of permutation(keys.length, 99)) {
        const key = keys[k];
        const [t, w] = key.split('/').map(Number);
        expect(s.batch(t, w)).toEqual(expected.get(key));
      }
    }
  });

  it('never reuses a sample within a class-epoch', () => {
    const s = make(3, 32, 2);
    const perClass: number[][] = [[], [], [], []];
    for (let t = 0; t < 100; t++) for (let w = 0; w < 3; w++) perClass[(w + t) % 4].push(...s.batch(t, w));
    const sizes = [300, 250, 400, 350];
    perClass.forEach((ids, c) => {
      for (let e = 0; (e + 1) * sizes[c] <= ids.length; e++) {
        expect(new Set(ids.slice(e * sizes[c], (e + 1) * sizes[c])).size).toBe(sizes[c]);
      }
    });
  });

  it('is deterministic per seed; different seeds differ', () => {
    expect(make(4, 16, 1).batch(9, 2)).toEqual(make(4, 16, 1).batch(9, 2));
    expect(make(4, 16, 2).batch(9, 2)).not.toEqual(make(4, 16, 1).batch(9, 2));
  });

  it('rejects a batch larger than the smallest class, naming --batch-size', () => {
    expect(() => make(4, 251)).toThrow(DataError);
    expect(() => make(4, 251)).toThrow(/^--batch-size: .*class 1 has only 250; use at most 250/);
    expect(() => make(4, 250)).not.toThrow();
  });
});
