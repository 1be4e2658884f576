import { weightedAverage } from './average';

/**
 * How the coordinator combines a step's contributions into the one update every replica applies:
 *   mean          the sample-weighted average (weightedAverage): what DDP and FedAvg do
 *   median        the coordinate-wise median of the contributions (one vote each)
 *   trimmed-mean  per coordinate, the mean after dropping the `trim` lowest and `trim` highest values
 *   multi-krum    the weighted average of the W - f contributions whose summed squared distances to their
 *                 W - f - 2 nearest others are smallest (Blanchard et al. 2017; El Mhamdi et al. 2018)
 * The robust ones guard against a few poisoned contributions; under label skew honest single-class workers
 * also look like outliers, which `discarded` measures: per worker, the share of coordinates (median, trimmed
 * mean) or 1/0 (Multi-Krum) of its contribution the rule left out.
 */
export type CombineName = 'mean' | 'median' | 'trimmed-mean' | 'multi-krum';
export const COMBINE_NAMES: readonly CombineName[] = ['mean', 'median', 'trimmed-mean', 'multi-krum'];

export interface CombineOptions {
  /** trimmed-mean: values dropped at each end, per coordinate. */
  trim: number;
  /** multi-krum: the number of contributions assumed poisoned. */
  krumF: number;
}

/** A rule other than the mean, with its parameters: what a collective that computes robust rules is given. */
export type RobustRule = { name: Exclude<CombineName, 'mean'> } & CombineOptions;

export interface Combined {
  update: Float32Array;
  /** Per contribution, the share of it the rule left out (0 for mean). */
  discarded: number[];
}

/** Refuses a rule that cannot be computed over `count` contributions, naming the setting. */
export function checkCombine(name: CombineName, count: number, o: CombineOptions): void {
  if (name === 'trimmed-mean' && !(Number.isInteger(o.trim) && o.trim >= 1 && 2 * o.trim < count)) {
    throw new RangeError(`--trim ${o.trim}: trimmed-mean drops --trim values at each end, so it needs 1 <= trim < workers / 2 (${count} workers)`);
  }
  if (name === 'multi-krum' && !(Number.isInteger(o.krumF) && o.krumF >= 1 && 2 * o.krumF + 2 < count)) {
    throw new RangeError(`--krum-f ${o.krumF}: multi-krum needs more than 2 f + 2 workers (${count} workers)`);
  }
}

/** The rule `name` over `grads` (weights: their sample counts, used by mean and multi-krum's average). */
export function combine(name: CombineName, grads: readonly Float32Array[], weights: readonly number[], o: CombineOptions): Combined {
  const k = grads.length;
  if (name === 'mean') return { update: weightedAverage(grads, weights), discarded: new Array(k).fill(0) };
  checkCombine(name, k, o);
  const n = grads[0]!.length;
  for (const g of grads) if (g.length !== n) throw new RangeError(`combine: contributions of ${g.length} and ${n} values`);
  if (name === 'multi-krum') {
    const dist = new Float64Array(k * k);
    pairDistances(grads, dist);
    const chosen = krumChoice(dist, k, o.krumF);
    const update = weightedAverage(
      chosen.map((i) => grads[i]!),
      chosen.map((i) => weights[i]!),
    );
    return { update, discarded: krumDiscarded(chosen, k) };
  }
  const update = new Float32Array(n);
  const left = new Float64Array(k);
  coordinateWise(grads, coordinateDrop(name, k, o), 0, n, update, left);
  return { update, discarded: Array.from(left, (c) => c / n) };
}

/*
 * The parts of the rules, for a collective that splits the work among workers (shared memory: each computes
 * its range of coordinates, or its share of the pairs). Each coordinate, and each pair's distance, is computed
 * by the same code in the same order wherever it runs, so the result is bit for bit combine()'s.
 */

/** Values left out at each end of every coordinate: (k - 1) / 2 rounded down for the median, --trim for trimmed-mean. */
export function coordinateDrop(name: 'median' | 'trimmed-mean', k: number, o: CombineOptions): number {
  return name === 'median' ? Math.floor((k - 1) / 2) : o.trim;
}

/**
 * Coordinates lo..hi-1 of a coordinate-wise rule into out[lo..hi-1]: per coordinate, sorts the k values (ties by
 * worker index) and averages those of rank `drop` to k - 1 - drop in float64 in sorted order, rounded once
 * (drop = floor((k - 1) / 2) is the median: the middle value, or the mean of the middle two). Adds to left[i]
 * the number of coordinates in the range where worker i's value was left out.
 */
export function coordinateWise(grads: readonly Float32Array[], drop: number, lo: number, hi: number, out: Float32Array, left: Float64Array): void {
  const k = grads.length;
  const values = new Float64Array(k);
  const order = new Int32Array(k);
  const keep = k - 2 * drop;
  for (let j = lo; j < hi; j++) {
    // Insertion sort of k (a few dozen at most) values, carrying the worker index: stable, so ties keep worker order.
    for (let i = 0; i < k; i++) {
      const v = grads[i]![j]!;
      let p = i;
      while (p > 0 && values[p - 1]! > v) {
        values[p] = values[p - 1]!;
        order[p] = order[p - 1]!;
        p--;
      }
      values[p] = v;
      order[p] = i;
    }
    let acc = 0;
    for (let r = drop; r < k - drop; r++) acc += values[r]!;
    out[j] = acc / keep;
    for (let r = 0; r < drop; r++) {
      left[order[r]!]!++;
      left[order[k - 1 - r]!]!++;
    }
  }
}

/**
 * Multi-Krum's squared distances into `dist` (k x k, row-major, both halves): of the pairs a < b whose index
 * p = a * k + b is first, first + every, first + 2 every, ... (all of them by default; a shared-memory worker
 * takes every k-th from its rank).
 */
export function pairDistances(grads: readonly Float32Array[], dist: Float64Array, first = 0, every = 1): void {
  const k = grads.length;
  for (let p = first; p < k * k; p += every) {
    const [a, b] = [Math.floor(p / k), p % k];
    if (a < b) dist[p] = dist[b * k + a] = squaredDistance(grads[a]!, grads[b]!);
  }
}

/** Multi-Krum's `discarded`: 0 for each chosen contribution of k, 1 for the others. */
export function krumDiscarded(chosen: readonly number[], k: number): number[] {
  return Array.from({ length: k }, (_, i) => (chosen.includes(i) ? 0 : 1));
}

/** The squared Euclidean distance of two contributions, accumulated in float64 in index order. */
function squaredDistance(x: Float32Array, y: Float32Array): number {
  let d = 0;
  for (let j = 0; j < x.length; j++) {
    const t = x[j]! - y[j]!;
    d += t * t;
  }
  return d;
}

/**
 * Multi-Krum's choice (m = k - f) from the k x k squared distances (row-major): the k - f contributions whose
 * summed distances to their k - f - 2 nearest others are smallest, ties by worker index; in worker order.
 */
export function krumChoice(dist: Float64Array, k: number, f: number): number[] {
  const nearest = k - f - 2;
  const score = Array.from({ length: k }, (_, a) => {
    const others = Array.from(dist.subarray(a * k, (a + 1) * k)).filter((_, b) => b !== a).sort((p, q) => p - q);
    return others.slice(0, nearest).reduce((s, d) => s + d, 0);
  });
  return Array.from({ length: k }, (_, i) => i)
    .sort((a, b) => score[a]! - score[b]! || a - b)
    .slice(0, k - f)
    .sort((a, b) => a - b);
}
