import { describe, it, expect } from 'vitest';
import { ClassStreams } from './class-streams';
import { ShuffledStream } from './shuffled-stream';

/** Label-sorted labels: sizes[c] samples of class c, class 0 first. */
const sortedLabels = (sizes: number[]) => Uint8Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
const sorted = (a: ArrayLike<number>) => Array.from(a).sort((x, y) => x - y);

describe('ShuffledStream', () => {
  it('each epoch is a fresh permutation and windows straddle epochs tail-then-head', () => {
    const stream = new ShuffledStream(10, (e) => 100 + e);
    const e0 = stream.epochOrder(0).slice();
    const e1 = stream.epochOrder(1).slice();
    expect(sorted(e0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sorted(e1)).toEqual(sorted(e0));
    expect(e1).not.toEqual(e0);
    const out = new Uint32Array(6);
    stream.take(7, 6, out);
    expect(Array.from(out)).toEqual([...e0.subarray(7), ...e1.subarray(0, 3)]);
  });

  it('windows longer than an epoch span several epochs', () => {
    const stream = new ShuffledStream(Uint32Array.from([5, 6, 7]), (e) => e);
    const out = new Uint32Array(8);
    stream.take(2, 8, out);
    const concat = [0, 1, 2, 3].flatMap((e) => Array.from(stream.epochOrder(e)));
    expect(Array.from(out)).toEqual(concat.slice(2, 10));
  });

  it('does not depend on the order epochs are read in (cache is invisible)', () => {
    const a = new ShuffledStream(50, (e) => e * 7);
    const b = new ShuffledStream(50, (e) => e * 7);
    const fromA = [5, 0, 3, 1].map((e) => Array.from(a.epochOrder(e)));
    const fromB = [5, 0, 3, 1].map((e) => Array.from(b.epochOrder(e)));
    const again = [5, 0, 3, 1].map((e) => Array.from(a.epochOrder(e)));
    expect(fromB).toEqual(fromA);
    expect(again).toEqual(fromA);
  });
});

describe('ClassStreams', () => {
  const labels = sortedLabels([30, 20, 25]);

  it('each class-epoch is a shuffle of exactly that class, reshuffled every class-epoch', () => {
    const streams = new ClassStreams(labels, 3, 1);
    expect(streams.classSizes).toEqual([30, 20, 25]);
    const classIds = (c: number) => Array.from(labels.keys()).filter((i) => labels[i] === c);
    for (let c = 0; c < 3; c++) {
      const e0 = streams.classEpoch(c, 0);
      const e1 = streams.classEpoch(c, 1);
      expect(sorted(e0)).toEqual(classIds(c));
      expect(sorted(e1)).toEqual(classIds(c));
      expect(e1).not.toEqual(e0);
    }
  });

  it('chunks are consecutive windows of the stream: every sample once per class-epoch', () => {
    const streams = new ClassStreams(labels, 3, 9);
    // Class 1 has 20 samples; chunks of 8 straddle the class-epoch boundary at position 20 and 40.
    const chunks = Array.from({ length: 10 }, (_, k) => {
      const out = new Uint32Array(8);
      streams.chunk(1, k, 8, out);
      return Array.from(out);
    });
    const flat = chunks.flat();
    for (let e = 0; e < 4; e++) expect(flat.slice(20 * e, 20 * (e + 1))).toEqual(Array.from(streams.classEpoch(1, e)));
  });

  it('is deterministic per seed; different seeds differ', () => {
    expect(new ClassStreams(labels, 3, 4).classEpoch(0, 2)).toEqual(new ClassStreams(labels, 3, 4).classEpoch(0, 2));
    expect(new ClassStreams(labels, 3, 5).classEpoch(0, 2)).not.toEqual(new ClassStreams(labels, 3, 4).classEpoch(0, 2));
  });
});
