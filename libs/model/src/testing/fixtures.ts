import { mulberry32, type ModelSpec } from '../spec';

/** Seeded features in [0, 1) and labels, so failures are reproducible. */
export function randomBatch(spec: ModelSpec, n: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const rand = mulberry32(seed);
  return {
    features: Float32Array.from({ length: n * spec.inputSize }, () => rand()),
    labels: Int32Array.from({ length: n }, () => Math.floor(rand() * spec.classes)),
  };
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Largest absolute element-wise difference; throws on a length mismatch. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
