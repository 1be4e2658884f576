import { describe, it, expect } from 'vitest';
import { ClassStreams } from './class-streams';
import { DataError } from './errors';
import { SequentialSingleClassStrategy } from './sequential-single-class';
import type { StrategyOptions } from './strategy';

const sortedLabels = (sizes: number[]) => Uint8Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
const labels = sortedLabels([200, 150, 180, 170]);
const make = (opts: Partial<StrategyOptions> = {}) =>
  new SequentialSingleClassStrategy({ labels, numClasses: 4, workers: 3, batchSize: 16, seed: 1, ...opts });
const classesOf = (batch: Uint32Array) => new Set(Array.from(batch, (id) => labels[id]));

describe('sequential-single-class', () => {
  it('all workers get the same single class at each step, cyclic by default', () => {
    const s = make();
    for (let t = 0; t < 12; t++) {
      expect(s.classAt(t)).toBe(t % 4);
      for (let w = 0; w < 3; w++) expect(classesOf(s.batch(t, w))).toEqual(new Set([t % 4]));
    }
  });

  it('runLength r keeps each class for r consecutive steps', () => {
    const s = make({ runLength: 3 });
    expect(Array.from({ length: 14 }, (_, t) => s.classAt(t))).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 0]);
  });

  it("order 'random' visits every class once per cycle, in a seeded order that changes per cycle", () => {
    const s = make({ order: 'random', runLength: 2 });
    const cycles = Array.from({ length: 6 }, (_, cycle) => Array.from({ length: 4 }, (_, run) => s.classAt((cycle * 4 + run) * 2)));
    for (const cycle of cycles) expect([...cycle].sort()).toEqual([0, 1, 2, 3]);
    expect(new Set(cycles.map((c) => c.join())).size).toBeGreaterThan(1);
    for (let t = 0; t < 48; t += 2) expect(s.classAt(t + 1)).toBe(s.classAt(t)); // runs of 2
    const again = make({ order: 'random', runLength: 2 });
    expect(Array.from({ length: 48 }, (_, t) => again.classAt(t))).toEqual(Array.from({ length: 48 }, (_, t) => s.classAt(t)));
    const other = make({ order: 'random', runLength: 2, seed: 2 });
    expect(Array.from({ length: 48 }, (_, t) => other.classAt(t))).not.toEqual(Array.from({ length: 48 }, (_, t) => s.classAt(t)));
  });

  it.each([
    ['cyclic', 1],
    ['cyclic', 3],
    ['random', 1],
    ['random', 2],
  ] as const)('order %s, runLength %i: workers draw consecutive chunks of the class stream', (order, runLength) => {
    const s = make({ order, runLength });
    const streams = new ClassStreams(labels, 4, 1);
    const seen = [0, 0, 0, 0];
    const expected: Uint32Array[][] = [];
    for (let t = 0; t < 80; t++) {
      const c = s.classAt(t);
      expected.push(
        [0, 1, 2].map(() => {
          const chunk = new Uint32Array(16);
          streams.chunk(c, seen[c]++, 16, chunk);
          return chunk;
        }),
      );
    }
    // Backwards, so each answer comes from the closed form rather than from earlier calls.
    for (let t = 79; t >= 0; t--) for (let w = 0; w < 3; w++) expect(s.batch(t, w)).toEqual(expected[t][w]);
  });

  it('works with a single worker and never reuses a sample within a class-epoch', () => {
    const s = make({ workers: 1, batchSize: 32 });
    const perClass: number[][] = [[], [], [], []];
    for (let t = 0; t < 100; t++) perClass[t % 4].push(...s.batch(t, 0));
    const sizes = [200, 150, 180, 170];
    perClass.forEach((ids, c) => {
      for (let e = 0; (e + 1) * sizes[c] <= ids.length; e++) {
        const epoch = ids.slice(e * sizes[c], (e + 1) * sizes[c]);
        expect(new Set(epoch).size).toBe(sizes[c]);
      }
    });
  });

  it('is deterministic per seed; different seeds differ', () => {
    expect(make({ seed: 3 }).batch(7, 1)).toEqual(make({ seed: 3 }).batch(7, 1));
    expect(make({ seed: 4 }).batch(7, 1)).not.toEqual(make({ seed: 3 }).batch(7, 1));
  });

  it('validates its options, naming the flag', () => {
    expect(() => make({ order: 'shuffled' as 'random' })).toThrow(/^--order: must be cyclic or random/);
    expect(() => make({ runLength: 0 })).toThrow(/^--run-length: must be an integer >= 1/);
    expect(() => make({ runLength: 1.5 })).toThrow(DataError);
    expect(() => make({ batchSize: 151 })).toThrow(/^--batch-size: .*class 1 has only 150/);
  });
});
