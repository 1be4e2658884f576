/*
 * Ring all-reduce (Patarasuk & Yuan 2009; what gloo and NCCL run): W ranks in a ring, the buffer cut into W
 * segments. Reduce-scatter: in W-1 rounds each rank passes one segment to the next rank, which adds its own
 * values; afterwards rank i holds the full sum of segment (i+1) mod W. All-gather: in W-1 more rounds those
 * finished segments travel around the ring and are copied. Each rank sends and receives 2 (W-1)/W of the
 * buffer, whatever W is, and no rank ever holds more than its own buffer.
 *
 * Every segment is further cut into pieces that travel independently: a rank forwards piece p of a round as
 * soon as it has added it, while later pieces are still on the wire, so sending overlaps adding. (ringAverage,
 * below, is the same schedule with the weighting and the division folded into its passes.)
 *
 * Exactness: segment s is summed in one fixed order (ranks s, s+1, ..., s-1, left to right in float32) and
 * then copied, so every rank ends with identical bytes.
 *
 * Failure: a send that fails (the next rank is gone) rejects the reduction at once, even while it waits to
 * receive; a rank that never sends is the link's to time out (PeerLink.receive).
 */

import type { PeerLink } from './collective';
import { checkRank, startAverage } from './average-start';
import { Sends } from './sends';

export interface RingOptions {
  /**
   * Pieces per segment: a piece is forwarded as soon as it is added, overlapping sending with adding. Default 1:
   * on 2 shared cores every message costs more CPU than the overlap saves (measured at 4 workers, 0.44 MB:
   * 15.7 ms with 1 piece, 24 ms with 4, 27 ms with 8).
   */
  pieces?: number;
}

/** [start, end) of part `k` of `n` equal parts (sizes differ by at most one) of the range [from, to). */
export function partRange(from: number, to: number, k: number, n: number): [number, number] {
  const len = to - from;
  return [from + Math.floor((k * len) / n), from + Math.floor(((k + 1) * len) / n)];
}

const mod = (a: number, n: number) => ((a % n) + n) % n;

/**
 * Sums `buffer` element-wise over the ring, in place, and returns it. Every rank calls it with a buffer of the
 * same length and the same `tag` (which names this reduction among all others on the link).
 */
export async function ringAllReduce(buffer: Float32Array, rank: number, world: number, link: PeerLink, tag: string, options: RingOptions = {}): Promise<Float32Array> {
  checkRank(rank, world);
  if (world === 1) return buffer;
  const pieces = Math.max(1, Math.min(options.pieces ?? 1, Math.ceil(buffer.length / world)));
  const segment = (s: number) => partRange(0, buffer.length, mod(s, world), world);
  const piece = (s: number, p: number) => {
    const [a, b] = segment(s);
    return partRange(a, b, p, pieces);
  };
  const key = (phase: 'rs' | 'ag', round: number, p: number) => `${tag}/${phase}/${round}/${p}`;
  const sends = new Sends(link);
  const next = mod(rank + 1, world);
  const prev = mod(rank - 1, world);
  const sendPiece = (phase: 'rs' | 'ag', round: number, s: number, p: number) => {
    const [a, b] = piece(s, p);
    sends.send(next, key(phase, round, p), buffer.subarray(a, b));
  };

  try {
    // Reduce-scatter. Round r: send segment rank - r, receive segment rank - r - 1 and add it.
    for (let p = 0; p < pieces; p++) sendPiece('rs', 0, rank, p);
    for (let r = 0; r < world - 1; r++) {
      const s = rank - r - 1;
      for (let p = 0; p < pieces; p++) {
        const [a, b] = piece(s, p);
        const incoming = await sends.receive(prev, key('rs', r, p));
        if (incoming.length !== b - a) throw new Error(`ring ${tag}: piece ${p} of round ${r} has ${incoming.length} values, expected ${b - a}`);
        for (let i = a, j = 0; i < b; i++, j++) buffer[i] = incoming[j]! + buffer[i]!;
        if (r < world - 2) sendPiece('rs', r + 1, s, p);
      }
    }
    // All-gather. This rank owns segment rank + 1; round r: send segment rank + 1 - r, receive rank - r.
    for (let p = 0; p < pieces; p++) sendPiece('ag', 0, rank + 1, p);
    for (let r = 0; r < world - 1; r++) {
      const s = rank - r;
      for (let p = 0; p < pieces; p++) {
        const [a, b] = piece(s, p);
        const incoming = await sends.receive(prev, key('ag', r, p));
        if (incoming.length !== b - a) throw new Error(`ring ${tag}: piece ${p} of gather round ${r} has ${incoming.length} values, expected ${b - a}`);
        buffer.set(incoming, a);
        if (r < world - 2) sendPiece('ag', r + 1, s, p);
      }
    }
  } finally {
    sends.abandon();
  }
  await sends.settled();
  return buffer;
}

/**
 * The sample-weighted average over the ring: sum of weight_k * values_k over sum of weight_k, in one
 * reduce-scatter and one all-gather with the weighting and the division folded in (instead of a pass to
 * weight, ringAllReduce, and a pass to divide: two fewer passes over the model a step).
 *
 * Every reduce-scatter message is a segment's partial sum followed by the partial sum of the weights, so the
 * rank that completes segment s also knows its total and divides before the all-gather; nobody needs to know
 * the others' weights in advance. Element i of segment s is, in float32,
 *   ((w_s x_s[i] + w_{s+1} x_{s+1}[i]) + ... + w_{s-1} x_{s-1}[i]) / (w_s + w_{s+1} + ... + w_{s-1})
 * (each product rounded to float32 first), then copied, so every rank gets identical bytes. With whole-number
 * weights (sample counts) every segment's total is the same exact number.
 *
 * The result is built in `scratch` (n + 1 floats) when given; the returned array is its first n floats.
 */
export async function ringAverage(
  values: Float32Array,
  weight: number,
  rank: number,
  world: number,
  link: PeerLink,
  tag: string,
  options: RingOptions = {},
  /** n + 1 floats to work in (PeerCollective reuses one: a fresh 0.4 MB array a step was a page-faulting allocation). */
  scratch?: Float32Array,
): Promise<Float32Array> {
  const { out, w, alone } = startAverage(values, weight, rank, world, scratch);
  if (alone) return alone;
  const n = values.length;
  const pieces = Math.max(1, Math.min(options.pieces ?? 1, Math.ceil(n / world)));
  const piece = (s: number, p: number) => {
    const [a, b] = partRange(0, n, mod(s, world), world);
    return partRange(a, b, p, pieces);
  };
  const key = (phase: 'rs' | 'ag', round: number, p: number) => `${tag}/${phase}/${round}/${p}`;
  const sends = new Sends(link);
  const next = mod(rank + 1, world);
  const prev = mod(rank - 1, world);
  try {
    // Reduce-scatter, round 0: this rank's weighted pieces, each followed by the weight, built in `out` (at [b]
    // a float nothing needs yet): the link copies what it sends before send() returns.
    for (let p = 0; p < pieces; p++) {
      const [a, b] = piece(rank, p);
      for (let i = a; i < b; i++) out[i] = values[i]! * w;
      out[b] = w;
      sends.send(next, key('rs', 0, p), out.subarray(a, b + 1));
    }
    // Round r: receive the partial sums of segment rank - r - 1, add this rank's weighted values in place, and
    // pass them on; after the last round this rank holds segment rank + 1 complete, and divides it into `out`.
    for (let r = 0; r < world - 1; r++) {
      for (let p = 0; p < pieces; p++) {
        const [a, b] = piece(rank - r - 1, p);
        const len = b - a;
        const partial = await sends.receive(prev, key('rs', r, p));
        if (partial.length !== len + 1) throw new Error(`ring ${tag}: piece ${p} of round ${r} has ${partial.length - 1} values, expected ${len}`);
        for (let i = a, j = 0; j < len; i++, j++) partial[j] = partial[j]! + Math.fround(values[i]! * w);
        partial[len] = partial[len]! + w;
        if (r < world - 2) {
          sends.send(next, key('rs', r + 1, p), partial);
          continue;
        }
        const total = partial[len]!;
        for (let i = a, j = 0; j < len; i++, j++) out[i] = partial[j]! / total;
        sends.send(next, key('ag', 0, p), out.subarray(a, b));
      }
    }
    // All-gather: round r brings the finished segment rank - r, which is copied and passed on.
    for (let r = 0; r < world - 1; r++) {
      for (let p = 0; p < pieces; p++) {
        const [a, b] = piece(rank - r, p);
        const done = await sends.receive(prev, key('ag', r, p));
        if (done.length !== b - a) throw new Error(`ring ${tag}: piece ${p} of gather round ${r} has ${done.length} values, expected ${b - a}`);
        out.set(done, a);
        if (r < world - 2) sends.send(next, key('ag', r + 1, p), done);
      }
    }
  } finally {
    sends.abandon();
  }
  await sends.settled();
  return out.subarray(0, n);
}

/**
 * Element-wise sum of small float64 vectors (SyncBN statistics) over the ring: every vector travels around
 * the ring once (all-gather), then every rank adds them in rank order 0..W-1, so all get identical bytes. The
 * float64 bytes ride the float32 link unchanged (a Float32Array view of the same memory).
 */
export async function ringSum(values: Float64Array, rank: number, world: number, link: PeerLink, tag: string): Promise<Float64Array> {
  if (world === 1) return values.slice();
  const all: Float64Array[] = new Array(world);
  all[rank] = values;
  const asFloat32 = (v: Float64Array) => new Float32Array(v.buffer, v.byteOffset, v.length * 2);
  const sends = new Sends(link);
  const next = mod(rank + 1, world);
  const prev = mod(rank - 1, world);
  sends.send(next, `${tag}/sum/0`, asFloat32(values));
  try {
    for (let r = 0; r < world - 1; r++) {
      const from = mod(rank - r - 1, world);
      const incoming = await sends.receive(prev, `${tag}/sum/${r}`);
      if (incoming.length !== values.length * 2) throw new Error(`ring ${tag}: worker ${from} sent ${incoming.length / 2} values to sum, expected ${values.length}`);
      const copy = new Float64Array(values.length);
      new Float32Array(copy.buffer).set(incoming);
      all[from] = copy;
      if (r < world - 2) sends.send(next, `${tag}/sum/${r + 1}`, incoming);
    }
  } finally {
    sends.abandon();
  }
  await sends.settled();
  const out = new Float64Array(values.length);
  for (let w = 0; w < world; w++) for (let i = 0; i < out.length; i++) out[i]! += all[w]![i]!;
  return out;
}
