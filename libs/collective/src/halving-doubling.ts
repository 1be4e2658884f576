/*
 * Recursive halving and doubling (Rabenseifner 2004; gloo's allreduce_halving_doubling) for worlds of 2^k
 * workers. Reduce-scatter by recursive halving: in round j (masks W/2, W/4, ..., 1) worker r and its partner
 * r XOR mask hold the same range of the buffer; each keeps one half (the worker whose mask bit is 0 the lower
 * one), sends the other, and adds what the partner sent for the half it kept. After k rounds worker r holds the
 * full sum of one W-th of the buffer. All-gather by recursive doubling: the same pairs in reverse order swap
 * their finished ranges until everyone has everything.
 *
 * The same bytes on the wire as the ring (2 (W-1)/W of the buffer per worker), in 2 log2(W) messages instead of
 * 2 (W-1): 4 instead of 6 at W = 4, 6 instead of 14 at W = 8. On a machine where each message costs CPU in
 * grpc-js and the kernel, the message count is what matters (docs/benchmark.md).
 *
 * Exactness: element i is summed by one worker along a fixed binary tree, the partial sums of the two halves
 * of each group added in float32; float32 addition is commutative, so this equals every worker running the same
 * tree on the whole buffer (recursive doubling, what the tests compute), and every worker ends with identical
 * bytes. The tree is not the ring's order, so the two collectives agree to float32 rounding, not bit for bit.
 */

import { checkPowerOfTwo, type PeerLink } from './collective';
import { checkRank, startAverage } from './average-start';
import { Sends } from './sends';

/**
 * The sample-weighted average by halving and doubling: sum of weight_k * values_k over sum of weight_k. As in
 * ringAverage, the weighting happens in the first round's pass and every reduce-scatter message carries the
 * partial sum of its weights as one trailing float, so the worker that completes a range divides it before the
 * all-gather. Each product w_k x_k is rounded to float32 first; with whole-number weights the total is exact.
 *
 * The result is built in `scratch` (n + 1 floats) when given; the returned array is its first n floats.
 */
export async function halvingDoublingAverage(
  values: Float32Array,
  weight: number,
  rank: number,
  world: number,
  link: PeerLink,
  tag: string,
  scratch?: Float32Array,
): Promise<Float32Array> {
  checkPowerOfTwo(world);
  const { out, w, alone } = startAverage(values, weight, rank, world, scratch);
  if (alone) return alone;
  const n = values.length;
  const sends = new Sends(link);
  // The range this worker holds before each reduce-scatter round: the all-gather retraces them backwards.
  const held: [number, number][] = [];
  try {
    let lo = 0;
    let hi = n;
    let weights = w;
    for (let mask = world >> 1, round = 0; mask >= 1; mask >>= 1, round++) {
      held.push([lo, hi]);
      const partner = rank ^ mask;
      const mid = lo + ((hi - lo) >> 1);
      const keepLow = (rank & mask) === 0;
      const [sa, sb] = keepLow ? [mid, hi] : [lo, mid];
      const [ka, kb] = keepLow ? [lo, mid] : [mid, hi];
      // The message: the partial sums of the half sent, then the weights' partial sum, built in place at
      // out[sb] (the link copies before send() returns, and that float is restored right after).
      if (round === 0) for (let i = sa; i < sb; i++) out[i] = values[i]! * w;
      const displaced = out[sb]!;
      out[sb] = weights;
      sends.send(partner, `${tag}/hd/rs/${round}`, out.subarray(sa, sb + 1));
      out[sb] = displaced;
      const partial = await sends.receive(partner, `${tag}/hd/rs/${round}`);
      const len = kb - ka;
      if (partial.length !== len + 1) throw new Error(`halving-doubling ${tag}: worker ${partner} sent ${partial.length - 1} values in round ${round}, expected ${len}`);
      if (round === 0) for (let i = ka, j = 0; j < len; i++, j++) out[i] = Math.fround(values[i]! * w) + partial[j]!;
      else for (let i = ka, j = 0; j < len; i++, j++) out[i] = out[i]! + partial[j]!;
      weights = Math.fround(weights + partial[len]!);
      lo = ka;
      hi = kb;
    }
    for (let i = lo; i < hi; i++) out[i] = out[i]! / weights;
    // All-gather: the pairs in reverse order swap finished ranges; each swap doubles the range held.
    for (let mask = 1, round = held.length - 1; mask < world; mask <<= 1, round--) {
      const partner = rank ^ mask;
      const [pa, pb] = held[round]!;
      const [ta, tb] = (rank & mask) === 0 ? [hi, pb] : [pa, lo];
      sends.send(partner, `${tag}/hd/ag/${round}`, out.subarray(lo, hi));
      const done = await sends.receive(partner, `${tag}/hd/ag/${round}`);
      if (done.length !== tb - ta) throw new Error(`halving-doubling ${tag}: worker ${partner} sent ${done.length} finished values in gather round ${round}, expected ${tb - ta}`);
      out.set(done, ta);
      lo = pa;
      hi = pb;
    }
  } finally {
    sends.abandon();
  }
  await sends.settled();
  return out.subarray(0, n);
}

/**
 * Element-wise sum of small float64 vectors (SyncBN statistics) by recursive doubling: in round j every worker
 * swaps the vectors its group of 2^j has gathered with the partner group, so after log2(W) rounds everyone has
 * all W, and adds them in worker order 0..W-1, as ringSum and the relay do (identical bytes across all three).
 */
export async function doublingSum(values: Float64Array, rank: number, world: number, link: PeerLink, tag: string): Promise<Float64Array> {
  checkPowerOfTwo(world);
  checkRank(rank, world);
  const m = values.length;
  // gathered[k]: worker (base + k)'s vector, for the block of workers this worker has gathered so far.
  let gathered = values.slice();
  let base = rank;
  const sends = new Sends(link);
  try {
    for (let mask = 1, round = 0; mask < world; mask <<= 1, round++) {
      const partner = rank ^ mask;
      sends.send(partner, `${tag}/hd/sum/${round}`, new Float32Array(gathered.buffer, gathered.byteOffset, gathered.length * 2));
      const incoming = await sends.receive(partner, `${tag}/hd/sum/${round}`);
      if (incoming.length !== gathered.length * 2) throw new Error(`halving-doubling ${tag}: worker ${partner} sent ${incoming.length / 2} values to sum, expected ${gathered.length}`);
      const theirs = new Float64Array(gathered.length);
      new Float32Array(theirs.buffer).set(incoming);
      const both = new Float64Array(gathered.length * 2);
      const partnerBase = base ^ mask;
      both.set(partnerBase < base ? theirs : gathered, 0);
      both.set(partnerBase < base ? gathered : theirs, gathered.length);
      gathered = both;
      base = Math.min(base, partnerBase);
    }
  } finally {
    sends.abandon();
  }
  await sends.settled();
  const out = new Float64Array(m);
  for (let k = 0; k < world; k++) for (let i = 0; i < m; i++) out[i]! += gathered[k * m + i]!;
  return out;
}
