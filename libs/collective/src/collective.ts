/**
 * The collective seam (DDP's process group + comm hook, in one small interface): how one worker combines a
 * flat buffer with every other worker's. Implementations:
 *   relay   through the coordinator (the coordinator averages; the trainer app provides it over gRPC)
 *   ring    ring all-reduce among the trainers (RingCollective over any RingLink: gRPC between trainers, or
 *           memory in tests)
 * Both give every worker identical bytes, so replicas that apply the result stay bit-identical.
 */
export interface Collective {
  /** Sample-weighted average over all workers: sum of weight_k * values_k / sum of weight_k. The returned array may be reused by the next call. */
  average(values: Float32Array, weight: number, step: number): Promise<Float32Array>;
  /** Element-wise sum of a small float64 vector over all workers (SyncBN statistics); `tag` orders reductions within a step. */
  sum(values: Float64Array, step: number, tag: number): Promise<Float64Array>;
}

/** The collective setting: which implementation averages the gradients. */
export type CollectiveName = 'relay' | 'ring';
export const COLLECTIVE_NAMES: readonly CollectiveName[] = ['relay', 'ring'];
