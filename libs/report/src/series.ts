/*
 * Curve helpers shared by the report (html-data.ts, in Node) and the pages' browser code
 * (src/browser): thinning that keeps spikes, and TensorBoard's smoothing. Pure functions.
 */

/**
 * Indices to keep so that at most ~maxPoints remain: the points are cut into buckets of equal
 * length and each bucket keeps its lowest and its highest point (in step order; one when they
 * are the same point). Averaging buckets would flatten the very loss swings under study; this
 * keeps every bucket's extremes, as Chart.js's min-max decimation does. Nulls are never kept
 * unless a bucket has nothing else. All indices when there are at most maxPoints.
 */
export function minMaxIndices(values: readonly (number | null)[], maxPoints: number): number[] {
  const n = values.length;
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const bucket = Math.ceil(n / Math.max(1, Math.floor(maxPoints / 2)));
  const keep: number[] = [];
  for (let start = 0; start < n; start += bucket) {
    const end = Math.min(n, start + bucket);
    let lo = -1;
    let hi = -1;
    for (let i = start; i < end; i++) {
      const v = values[i];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      if (lo < 0 || v < values[lo]!) lo = i;
      if (hi < 0 || v > values[hi]!) hi = i;
    }
    if (lo < 0) keep.push(start);
    else if (lo === hi) keep.push(lo);
    else keep.push(Math.min(lo, hi), Math.max(lo, hi));
  }
  return keep;
}

/**
 * TensorBoard's smoothing: an exponential moving average with weight w in [0, 1) (0 = none),
 * debiased so that the first points are not pulled toward zero. Nulls stay null and do not
 * enter the average.
 */
export function emaSmooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) return values.slice();
  const w = Math.min(weight, 0.999);
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * w + (1 - w) * v;
    count++;
    return last / (1 - w ** count);
  });
}
