/**
 * Seeded Gamma and Dirichlet draws for the dirichlet partition, on top of SplitMix32.
 *
 * Gamma(shape) uses Marsaglia & Tsang (2000), "A simple method for generating gamma variables":
 * for shape >= 1, d = shape - 1/3, c = 1/sqrt(9d), draw x ~ N(0,1) and v = (1 + c x)^3 until the
 * squeeze or the log test accepts, and return d v. For shape < 1 the "boost":
 * Gamma(shape) = Gamma(shape + 1) * U^(1/shape). That factor underflows to 0 for tiny shapes, so the
 * Dirichlet is computed from log-Gammas (and normalised with a log-sum-exp), which keeps
 * Dir(0.001) well defined: one coordinate near 1, the rest near 0, never NaN.
 */
import type { SplitMix32 } from './prng';

/** N(0, 1) by Box–Muller (one of the pair; the other is discarded so draws stay position-free). */
export function sampleStandardNormal(rng: SplitMix32): number {
  const u1 = 1 - rng.nextFloat(); // (0, 1]: log(u1) is finite
  const u2 = rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** log of a Gamma(shape, 1) draw; finite for every shape > 0. */
export function sampleLogGamma(rng: SplitMix32, shape: number): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`Gamma shape must be a finite number > 0, got ${shape}`);
  if (shape < 1) {
    const u = 1 - rng.nextFloat(); // (0, 1]
    return logGammaAtLeastOne(rng, shape + 1) + Math.log(u) / shape;
  }
  return logGammaAtLeastOne(rng, shape);
}

/** A Gamma(shape, 1) draw (mean shape, variance shape). May underflow to 0 for shape << 1. */
export function sampleGamma(rng: SplitMix32, shape: number): number {
  return Math.exp(sampleLogGamma(rng, shape));
}

/** A Dirichlet(alpha, ..., alpha) draw over n coordinates: n non-negative numbers summing to 1. */
export function sampleDirichlet(rng: SplitMix32, alpha: number, n: number): Float64Array {
  const logs = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    logs[i] = sampleLogGamma(rng, alpha);
    if (logs[i] > max) max = logs[i];
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    logs[i] = Math.exp(logs[i] - max);
    sum += logs[i];
  }
  for (let i = 0; i < n; i++) logs[i] /= sum;
  return logs;
}

function logGammaAtLeastOne(rng: SplitMix32, shape: number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = sampleStandardNormal(rng);
    let v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const u = rng.nextFloat();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return Math.log(d * v);
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return Math.log(d * v);
  }
}
