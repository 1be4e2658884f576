import { describe, expect, it } from 'vitest';
import { peersOf, type PeerLink } from './collective';
import { doublingSum, halvingDoublingAverage } from './halving-doubling';
import { memoryLinks } from './memory';
import { PeerCollective } from './peer-collective';
import { ringAverage, ringSum } from './ring';
import { data, firstBitDifference } from './test-values';

/**
 * halvingDoublingAverage's documented result, the slow way: recursive doubling on whole buffers (in round j
 * every worker adds its partner's partial sums, masks W/2 .. 1; float32 throughout), then the division by the
 * weights' sum. The weighted products are rounded to float32 first.
 */
function expectedAverage(inputs: Float32Array[], weights: number[]): Float32Array {
  const W = inputs.length;
  let partial = inputs.map((x, r) => x.map((v) => v * weights[r]!));
  let total = weights.map((w) => Math.fround(w));
  for (let mask = W >> 1; mask >= 1; mask >>= 1) {
    partial = partial.map((p, r) => p.map((v, i) => v + partial[r ^ mask]![i]!));
    total = total.map((t, r) => Math.fround(t + total[r ^ mask]!));
  }
  return partial[0]!.map((v) => v / total[0]!);
}

describe('halvingDoublingAverage', () => {
  for (const world of [1, 2, 4, 8]) {
    for (const n of [1, 7, 1000, 108_996]) {
      it(`${world} workers, ${n} values: every worker gets the documented weighted average, bit for bit`, async () => {
        const inputs = Array.from({ length: world }, (_, r) => data(r + 5, n));
        const weights = Array.from({ length: world }, (_, r) => [128, 32, 77, 1, 500][r % 5]!);
        const links = memoryLinks(world);
        const results = await Promise.all(inputs.map((x, r) => halvingDoublingAverage(x, weights[r]!, r, world, links[r]!, 'avg')));
        const expected = expectedAverage(inputs, weights);
        for (const r of results) expect(firstBitDifference(r, expected)).toBe(-1);
      });
    }
  }

  it("agrees with the ring's average to float32 rounding (another order of the same sums)", async () => {
    const world = 8;
    const n = 5000;
    const inputs = Array.from({ length: world }, (_, r) => data(r, n));
    const weights = inputs.map((_, r) => 16 * (r + 1));
    const hdLinks = memoryLinks(world);
    const ringLinks = memoryLinks(world);
    const viaHd = await Promise.all(inputs.map((x, r) => halvingDoublingAverage(x, weights[r]!, r, world, hdLinks[r]!, 'a')));
    const viaRing = await Promise.all(inputs.map((x, r) => ringAverage(x, weights[r]!, r, world, ringLinks[r]!, 'a')));
    const total = weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < n; i++) {
      // Each is within W float32 roundings of the exact average, so they are within twice that of each other.
      const scale = inputs.reduce((acc, x, r) => acc + Math.abs(x[i]!) * weights[r]!, 0) / total;
      expect(Math.abs(viaHd[0]![i]! - viaRing[0]![i]!)).toBeLessThanOrEqual(2 * world * 1.2e-7 * scale);
    }
  });

  it('refuses a world that is not a power of two, and a chunk of the wrong length, naming it', async () => {
    await expect(halvingDoublingAverage(new Float32Array(4), 1, 0, 3, memoryLinks(3)[0]!, 'g')).rejects.toThrow('power of two');
    const liar: PeerLink = { send: async () => undefined, receive: async () => new Float32Array(3) };
    await expect(halvingDoublingAverage(new Float32Array(10), 1, 0, 2, liar, 'avg')).rejects.toThrow('worker 1 sent 2 values in round 0, expected 5');
  });

  it('rejects (instead of hanging) when a send fails, naming what failed', async () => {
    const links = memoryLinks(4);
    const broken: PeerLink = { send: () => Promise.reject(new Error('worker 3 unreachable')), receive: (from, key) => links[1]!.receive(from, key) };
    await expect(halvingDoublingAverage(new Float32Array(9), 1, 1, 4, broken, 'g')).rejects.toThrow('worker 3 unreachable');
  });

  it('talks only to its partners, rank XOR 2^j', async () => {
    const world = 8;
    const links = memoryLinks(world);
    const seen = Array.from({ length: world }, () => new Set<number>());
    const watched = links.map((l, r): PeerLink => ({
      send: (to, key, d) => (seen[r]!.add(to), l.send(to, key, d)),
      receive: (from, key) => (seen[r]!.add(from), l.receive(from, key)),
    }));
    await Promise.all(Array.from({ length: world }, (_, r) => halvingDoublingAverage(data(r, 100), 1, r, world, watched[r]!, 'a')));
    for (let r = 0; r < world; r++) expect([...seen[r]!].sort()).toEqual([...peersOf('halving-doubling', r, world).sendsTo].sort());
  });
});

describe('doublingSum', () => {
  it('the float64 sum in worker order, identical on every worker and to the ring', async () => {
    for (const world of [1, 2, 4, 8]) {
      const inputs = Array.from({ length: world }, (_, r) => Float64Array.from({ length: 9 }, (_, i) => Math.sin(r * 9 + i) * 1e3 + 1 / 3));
      const hdLinks = memoryLinks(world);
      const ringLinks = memoryLinks(world);
      const viaHd = await Promise.all(inputs.map((x, r) => doublingSum(x, r, world, hdLinks[r]!, 's')));
      const viaRing = await Promise.all(inputs.map((x, r) => ringSum(x, r, world, ringLinks[r]!, 's')));
      const expected = new Float64Array(9);
      for (const x of inputs) for (let i = 0; i < 9; i++) expected[i]! += x[i]!;
      for (const r of [...viaHd, ...viaRing]) expect(Array.from(r)).toEqual(Array.from(expected));
    }
  });
});

describe('PeerCollective (halving-doubling)', () => {
  it('averages step after step in its reused buffer, each result equal to a fresh one, and sums', async () => {
    const world = 4;
    const links = memoryLinks(world);
    const collectives = Array.from({ length: world }, (_, r) => new PeerCollective(r, world, links[r]!, 'halving-doubling'));
    for (let step = 0; step < 3; step++) {
      const inputs = Array.from({ length: world }, (_, r) => data(r + 7 * step, 333));
      const got = (await Promise.all(inputs.map((x, r) => collectives[r]!.average(x, r + 1, step)))).map((x) => x.slice());
      const fresh = memoryLinks(world);
      const want = await Promise.all(inputs.map((x, r) => halvingDoublingAverage(x, r + 1, r, world, fresh[r]!, 'x')));
      for (let r = 0; r < world; r++) expect(firstBitDifference(got[r]!, want[r]!)).toBe(-1);
    }
    const sums = await Promise.all(collectives.map((c, r) => c.sum(Float64Array.of(r, 1), 9, 0)));
    for (const s of sums) expect(Array.from(s)).toEqual([6, 4]);
  });
});

describe('peersOf', () => {
  it('ring: next and previous; halving-doubling: the log2(W) partners both ways; refuses 2^k-less worlds', () => {
    expect(peersOf('ring', 0, 4)).toEqual({ sendsTo: [1], receivesFrom: [3] });
    expect(peersOf('halving-doubling', 5, 8)).toEqual({ sendsTo: [1, 7, 4], receivesFrom: [1, 7, 4] });
    expect(peersOf('halving-doubling', 0, 1)).toEqual({ sendsTo: [], receivesFrom: [] });
    expect(() => peersOf('halving-doubling', 0, 6)).toThrow('power of two');
  });
});
