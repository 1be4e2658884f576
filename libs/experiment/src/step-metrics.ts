import { cosineSimilarity } from '@shardlab/aggregation';

/*
 * Pure helpers over one step's reports, for the step record and the replica check.
 */

/** The value most entries have (the first of them on a tie). */
export function majority(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0]!;
  for (const v of values) if (counts.get(v)! > counts.get(best)!) best = v;
  return best;
}

/** Cosine similarity of every pair of worker gradients, in the order (0,1), (0,2), ..., (1,2), ... */
export function pairwiseCosines(grads: readonly Float32Array[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < grads.length; i++) for (let j = i + 1; j < grads.length; j++) out.push(cosineSimilarity(grads[i]!, grads[j]!));
  return out;
}

/** How aligned the workers' gradients are: 1 = identical directions; near 0 or below under label skew. */
export function meanPairwiseCosine(grads: readonly Float32Array[]): number | null {
  const pairs = pairwiseCosines(grads);
  return pairs.length ? pairs.reduce((a, b) => a + b, 0) / pairs.length : null;
}

