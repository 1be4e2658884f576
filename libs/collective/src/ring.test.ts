import { describe, expect, it } from 'vitest';
import type { PeerLink } from './collective';
import { memoryLinks } from './memory';
import { PeerCollective } from './peer-collective';
import { partRange, ringAllReduce, ringAverage, ringSum } from './ring';
import { data, firstBitDifference } from './test-values';

/**
 * The ring's documented result, computed the slow way: element i of segment s is
 * (((x[s] + x[s+1]) + ...) + x[s-1]) in float32, segment bounds as partRange cuts them.
 */
function expectedRingSum(inputs: Float32Array[]): Float32Array {
  const W = inputs.length;
  const n = inputs[0]!.length;
  const out = new Float32Array(n);
  for (let s = 0; s < W; s++) {
    const [a, b] = partRange(0, n, s, W);
    for (let i = a; i < b; i++) {
      let acc = inputs[s]![i]!;
      for (let k = 1; k < W; k++) acc = Math.fround(inputs[(s + k) % W]![i]! + acc);
      out[i] = acc;
    }
  }
  return out;
}

describe('ringAllReduce', () => {
  for (const world of [1, 2, 3, 5, 8]) {
    for (const n of [1, 7, 1000, 108_997]) {
      if (n < 1) continue;
      it(`${world} workers, ${n} values: every worker gets the identical, documented float32 sum`, async () => {
        const links = memoryLinks(world);
        const inputs = Array.from({ length: world }, (_, r) => data(r, n));
        const results = await Promise.all(inputs.map((x, r) => ringAllReduce(x.slice(), r, world, links[r]!, 'g', { pieces: 3 })));
        const expected = world === 1 ? inputs[0]! : expectedRingSum(inputs);
        for (const r of results) expect(firstBitDifference(r, expected)).toBe(-1);
        // And it is the sum: within float32 rounding of the float64 sum.
        for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 50))) {
          let exact = 0;
          let scale = 0;
          for (const x of inputs) {
            exact += x[i]!;
            scale += Math.abs(x[i]!);
          }
          expect(Math.abs(results[0]![i]! - exact)).toBeLessThanOrEqual(world * 1.2e-7 * scale);
        }
      });
    }
  }

  it('runs two reductions with different tags at once on the same links', async () => {
    const links = memoryLinks(3);
    const a = [0, 1, 2].map((r) => ringAllReduce(Float32Array.of(r, 1), r, 3, links[r]!, 'a'));
    const b = [0, 1, 2].map((r) => ringAllReduce(Float32Array.of(10 * r, 2, 3), r, 3, links[r]!, 'b'));
    for (const x of await Promise.all(a)) expect(Array.from(x)).toEqual([3, 3]);
    for (const x of await Promise.all(b)) expect(Array.from(x)).toEqual([30, 6, 9]);
  });

  it('rejects (instead of hanging) when a link fails, naming what failed', async () => {
    const links = memoryLinks(3);
    const broken: PeerLink = { send: () => Promise.reject(new Error('worker 2 unreachable')), receive: (from, key) => links[1]!.receive(from, key) };
    await expect(ringAllReduce(new Float32Array(9), 1, 3, broken, 'g')).rejects.toThrow('worker 2 unreachable');
    await expect(ringAllReduce(new Float32Array(4), 3, 3, links[0]!, 'g')).rejects.toThrow(RangeError);
  });
});

/**
 * ringAverage's documented result, the slow way: the ring's sum of the weighted values (each product rounded to
 * float32), divided by the weights' sum (whole numbers here, so every order of adding them gives the same).
 */
function expectedRingAverage(inputs: Float32Array[], weights: number[]): Float32Array {
  const sums = expectedRingSum(inputs.map((x, r) => x.map((v) => v * weights[r]!)));
  const total = weights.reduce((acc, w) => Math.fround(acc + w), 0);
  return sums.map((v) => v / total);
}

describe('ringAverage', () => {
  for (const world of [1, 2, 3, 5, 8]) {
    for (const n of [1, 7, 1000, 108_996]) {
      for (const pieces of [1, 3]) {
        it(`${world} workers, ${n} values, ${pieces} piece(s): every worker gets the documented weighted average, bit for bit`, async () => {
          const inputs = Array.from({ length: world }, (_, r) => data(r + 3, n));
          const weights = Array.from({ length: world }, (_, r) => [128, 32, 77, 1, 500][r % 5]!);
          const links = memoryLinks(world);
          const results = await Promise.all(inputs.map((x, r) => ringAverage(x, weights[r]!, r, world, links[r]!, 'avg', { pieces })));
          const expected = expectedRingAverage(inputs, weights);
          for (const r of results) expect(firstBitDifference(r, expected)).toBe(-1);
        });
      }
    }
  }

  it('rejects a piece of the wrong length, naming it', async () => {
    const liar: PeerLink = { send: async () => undefined, receive: async () => new Float32Array(3) };
    await expect(ringAverage(new Float32Array(10), 1, 0, 2, liar, 'avg')).rejects.toThrow('piece 0 of round 0 has 2 values, expected 5');
  });
});

describe('PeerCollective (ring)', () => {
  it('average: sample-weighted, identical bytes on every worker', async () => {
    const world = 4;
    const links = memoryLinks(world);
    const weights = [32, 32, 64, 16];
    const inputs = Array.from({ length: world }, (_, r) => data(r, 501));
    const results = await Promise.all(inputs.map((x, r) => new PeerCollective(r, world, links[r]!).average(x, weights[r]!, 0)));
    const total = weights.reduce((a, b) => a + b, 0);
    for (const r of results) expect(firstBitDifference(r, results[0]!)).toBe(-1);
    for (let i = 0; i < 501; i++) {
      const exact = inputs.reduce((acc, x, r) => acc + x[i]! * weights[r]!, 0) / total;
      const scale = inputs.reduce((acc, x) => acc + Math.abs(x[i]!), 0);
      expect(Math.abs(results[0]![i]! - exact)).toBeLessThanOrEqual(1e-6 * scale);
    }
  });

  it('average after average (the collective reuses its buffer): each equals a fresh collective\'s result', async () => {
    const world = 3;
    const links = memoryLinks(world);
    const collectives = Array.from({ length: world }, (_, r) => new PeerCollective(r, world, links[r]!));
    for (let step = 0; step < 4; step++) {
      const inputs = Array.from({ length: world }, (_, r) => data(r + 7 * step, 100));
      const got = (await Promise.all(inputs.map((x, r) => collectives[r]!.average(x, r + 1, step)))).map((x) => x.slice());
      const fresh = memoryLinks(world);
      const want = await Promise.all(inputs.map((x, r) => new PeerCollective(r, world, fresh[r]!).average(x, r + 1, step)));
      for (let r = 0; r < world; r++) expect(firstBitDifference(got[r]!, want[r]!)).toBe(-1);
    }
  });

  it('averages in flight at the same time on one collective do not share a buffer', async () => {
    const world = 3;
    const links = memoryLinks(world);
    const collectives = Array.from({ length: world }, (_, r) => new PeerCollective(r, world, links[r]!));
    const inputs = (step: number) => Array.from({ length: world }, (_, r) => data(r + 11 * step, 64));
    const [a, b] = await Promise.all([0, 1].map((step) => Promise.all(inputs(step).map((x, r) => collectives[r]!.average(x, 1, step)))));
    for (const [step, got] of [a!, b!].entries()) {
      const fresh = memoryLinks(world);
      const want = await Promise.all(inputs(step).map((x, r) => new PeerCollective(r, world, fresh[r]!).average(x, 1, step)));
      for (let r = 0; r < world; r++) expect(firstBitDifference(got[r]!, want[r]!)).toBe(-1);
    }
  });

  it('sum (SyncBN statistics): the float64 sum in worker order, identical on every worker', async () => {
    for (const world of [1, 2, 3, 5]) {
      const links = memoryLinks(world);
      const inputs = Array.from({ length: world }, (_, r) => Float64Array.from({ length: 9 }, (_, i) => Math.sin(r * 9 + i) * 1e3 + 1 / 3));
      const results = await Promise.all(inputs.map((x, r) => ringSum(x, r, world, links[r]!, 's')));
      const expected = new Float64Array(9);
      for (const x of inputs) for (let i = 0; i < 9; i++) expected[i]! += x[i]!;
      for (const r of results) expect(Array.from(r)).toEqual(Array.from(expected));
    }
  });
});
