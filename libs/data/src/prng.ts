/**
 * Seeded, stateless randomness. Everything random in this library is a pure function of
 * (seed, some integer coordinates), so any sample or any epoch can be regenerated on demand
 * without walking a generator from the start, and two processes agree bit-for-bit.
 */

/** Weyl increment (2^32 / golden ratio): successive multiples visit all of 2^32 before repeating. */
const GOLDEN = 0x9e3779b9;
const TWO_POW_32 = 4294967296;

/** lowbias32 (Chris Wellons): a bijective 32-bit finaliser with good avalanche, two multiplies. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Folds a user seed and integer coordinates into one 32-bit key. Coordinates are mixed one at a
 * time (not summed), so (1, 2) and (2, 1) give unrelated keys. Values up to 2^53 keep their high
 * bits, so large seeds do not collide with small ones.
 */
export function deriveSeed(seed: number, ...coords: number[]): number {
  let h = mix32(foldToUint32(seed) ^ 0x5851f42d);
  for (const c of coords) h = mix32((h + GOLDEN + mix32(foldToUint32(c))) >>> 0);
  return h;
}

function foldToUint32(v: number): number {
  const lo = v >>> 0;
  const hi = Math.floor(v / TWO_POW_32) >>> 0;
  return (lo ^ mix32(hi + 0x2545f491)) >>> 0;
}

/**
 * splitmix32: a counter run through mix32. Used where a stream of numbers is consumed in order
 * (shuffles); `nextFloat` spends two outputs so that indices into arrays of 10^7 items are
 * unbiased (a single 32-bit draw would skew floor(u * n) by up to n / 2^32).
 */
export class SplitMix32 {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextUint32(): number {
    this.state = (this.state + GOLDEN) >>> 0;
    return mix32(this.state);
  }
  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }
}

/** Fisher–Yates shuffle in place, driven by `seed`. */
export function shuffleInPlace(a: Uint32Array, seed: number): Uint32Array {
  const rng = new SplitMix32(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** A seeded permutation of 0..n-1. */
export function permutation(n: number, seed: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return shuffleInPlace(a, seed);
}
