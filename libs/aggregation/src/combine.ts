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
  if (name === 'multi-krum') return multiKrum(grads, weights, o.krumF);
  return coordinateWise(grads, name === 'median' ? Math.floor((k - 1) / 2) : o.trim);
}

/**
 * Per coordinate: sorts the k values (ties by worker index) and averages those from rank `drop` to k - 1 - drop,
 * in float64 in sorted order, rounded once. drop = floor((k - 1) / 2) is the median (the middle value, or the
 * mean of the middle two).
 */
function coordinateWise(grads: readonly Float32Array[], drop: number): Combined {
  const k = grads.length;
  const n = grads[0]!.length;
  for (const g of grads) if (g.length !== n) throw new RangeError(`combine: contributions of ${g.length} and ${n} values`);
  const out = new Float32Array(n);
  const left = new Array<number>(k).fill(0);
  const values = new Float64Array(k);
  const order = new Int32Array(k);
  const keep = k - 2 * drop;
  for (let j = 0; j < n; j++) {
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
  return { update: out, discarded: left.map((c) => c / n) };
}

/** Multi-Krum with m = k - f: the k - f contributions of lowest score, averaged by their weights. */
function multiKrum(grads: readonly Float32Array[], weights: readonly number[], f: number): Combined {
  const k = grads.length;
  const dist = Array.from({ length: k }, () => new Float64Array(k));
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      const x = grads[a]!;
      const y = grads[b]!;
      let d = 0;
      for (let j = 0; j < x.length; j++) {
        const t = x[j]! - y[j]!;
        d += t * t;
      }
      dist[a]![b] = d;
      dist[b]![a] = d;
    }
  }
  const nearest = k - f - 2;
  const score = dist.map((row, a) => {
    const others = Array.from(row).filter((_, b) => b !== a).sort((p, q) => p - q);
    return others.slice(0, nearest).reduce((s, d) => s + d, 0);
  });
  // The k - f lowest scores; ties by worker index.
  const chosen = Array.from({ length: k }, (_, i) => i)
    .sort((a, b) => score[a]! - score[b]! || a - b)
    .slice(0, k - f)
    .sort((a, b) => a - b);
  const update = weightedAverage(
    chosen.map((i) => grads[i]!),
    chosen.map((i) => weights[i]!),
  );
  return { update, discarded: Array.from({ length: k }, (_, i) => (chosen.includes(i) ? 0 : 1)) };
}
