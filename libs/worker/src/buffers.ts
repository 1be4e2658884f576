/*
 * The buffers (BatchNorm running statistics) across workers after each step, by --buffers. Training steps use each
 * batch's own statistics; the running ones only serve evaluation, checkpoints and replacements, and would drift
 * apart silently between workers if nothing combined them. Among trainers the collective sums what each worker
 * contributes; under relay the coordinator combines the buffers the pushes carry and answers with the result.
 */

/** broadcast: worker 0's everywhere (DDP's broadcast_buffers); average: the mean of every worker's; local: each keeps its own. */
export type BuffersRule = 'broadcast' | 'average' | 'local';
export const BUFFERS_RULES: readonly BuffersRule[] = ['broadcast', 'average', 'local'];

/**
 * What `worker` adds to the element-wise sum over the workers that take part: its buffers (average), its buffers
 * if it is the lowest worker taking part, else zeros (broadcast). Float64, so the sum of one value and zeros is that
 * value exactly.
 */
export function buffersContribution(rule: Exclude<BuffersRule, 'local'>, buffers: Float32Array, isFirst: boolean): Float64Array {
  const out = new Float64Array(buffers.length);
  if (rule === 'average' || isFirst) out.set(buffers);
  return out;
}

/** Every worker's buffers from the sum of the contributions of `members` workers. */
export function buffersFromSum(rule: Exclude<BuffersRule, 'local'>, sum: Float64Array, members: number): Float32Array {
  const out = new Float32Array(sum.length);
  if (rule === 'broadcast') out.set(sum);
  else for (let i = 0; i < sum.length; i++) out[i] = sum[i]! / members;
  return out;
}

/** The coordinator's side under relay: the same result from the buffers the contributing workers pushed (in worker order). */
export function combineBuffers(rule: Exclude<BuffersRule, 'local'>, pushed: readonly Float32Array[]): Float32Array {
  const sum = new Float64Array(pushed[0]!.length);
  pushed.forEach((b, i) => {
    const c = buffersContribution(rule, b, i === 0);
    for (let k = 0; k < sum.length; k++) sum[k]! += c[k]!;
  });
  return buffersFromSum(rule, sum, pushed.length);
}
