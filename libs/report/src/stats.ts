/** Mean of the values; NaN for none. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Population standard deviation; NaN for none. */
export function std(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return Math.sqrt(s / values.length);
}

/**
 * Loss swing: the standard deviation of the per-step training loss over the last
 * `window` steps. Training on batches of one class at a time makes the loss jump
 * from batch to batch; averaged class-balanced steps keep it flat.
 */
export function lossSwing(stepLosses: readonly number[], window: number): number {
  return std(stepLosses.slice(Math.max(0, stepLosses.length - window)));
}
