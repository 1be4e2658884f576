/** Refuses a world that is not a positive whole number, and a rank outside it. */
export function checkRank(rank: number, world: number): void {
  if (!Number.isInteger(world) || world < 1) throw new RangeError(`world must be a positive integer, got ${world}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= world) throw new RangeError(`rank must be in 0..${world - 1}, got ${rank}`);
}

/**
 * What every weighted average starts with (ringAverage, halvingDoublingAverage): checked arguments, the weight
 * in float32, and the n + 1 floats the result is built in (`scratch` when given; the extra float carries a
 * weight sum in messages). A world of one is its own average, returned as `alone`.
 */
export function startAverage(
  values: Float32Array,
  weight: number,
  rank: number,
  world: number,
  scratch?: Float32Array,
): { out: Float32Array; w: number; alone: Float32Array | null } {
  if (!(weight > 0)) throw new RangeError(`weight must be positive, got ${weight}`);
  checkRank(rank, world);
  const n = values.length;
  if (scratch && scratch.length !== n + 1) throw new RangeError(`scratch must hold ${n + 1} floats, got ${scratch.length}`);
  const out = scratch ?? new Float32Array(n + 1);
  const w = Math.fround(weight);
  if (world > 1) return { out, w, alone: null };
  for (let i = 0; i < n; i++) out[i] = Math.fround(values[i]! * w) / w;
  return { out, w, alone: out.subarray(0, n) };
}
