import type { EvaluationResult } from './ops';
import type { ModelSpec } from './spec';

export type { EvaluationResult } from './ops';

export interface GradientResult {
  /** Mean softmax cross-entropy over the batch. */
  loss: number;
  /** d(loss)/d(params), flat in canonical order; a fresh array owned by the caller. */
  gradient: Float32Array;
}

/**
 * An all-reduce: resolves to the element-wise SUM over all workers of the vectors the workers pass in the same
 * round. Every worker must call it the same number of times, in the same order, with vectors of the same length.
 * The result must have the length of the input; the model does not keep or modify either array afterwards.
 */
export type AllReduce = (values: Float64Array) => Promise<Float64Array>;

/** What every model kind offers (Mlp, Cnn); see createModel. */
export interface Model {
  readonly spec: ModelSpec;
  /** Number of parameters (length of the flat vectors). */
  readonly size: number;
  /** Number of buffer values (BatchNorm running statistics); 0 for models without any. */
  readonly bufferSize: number;
  /** Replaces all parameters (flat, canonical order). The array is copied. */
  setParams(flat: Float32Array): void;
  /** Current parameters, flat in canonical order. */
  getParams(): Float32Array;
  /** Current buffers, flat in canonical order (see bufferShapes); a copy. Empty for models without buffers. */
  getBuffers(): Float32Array;
  /** Replaces all buffers (flat, canonical order). The array is copied. */
  setBuffers(flat: Float32Array): void;
  /**
   * Mean softmax cross-entropy over the batch and its gradient with respect to all parameters. A training step:
   * BatchNorm uses this batch's statistics and updates its running statistics.
   */
  gradient(features: Float32Array, labels: ArrayLike<number>, n: number): GradientResult;
  /**
   * gradient(), optionally with BatchNorm statistics combined across workers through `reduce` (SyncBN). Models
   * without BatchNorm never call `reduce`; without `reduce` this equals gradient().
   */
  gradientAsync(features: Float32Array, labels: ArrayLike<number>, n: number, reduce?: AllReduce): Promise<GradientResult>;
  /** Logits, row-major [n, classes], in evaluation mode (BatchNorm uses its running statistics). */
  predictLogits(features: Float32Array, n: number): Float32Array;
  /** Loss, accuracy, per-class accuracy and confusion in evaluation mode. */
  evaluate(features: Float32Array, labels: ArrayLike<number>, n: number): EvaluationResult;
  /** Frees the tensors; the instance is unusable afterwards. */
  dispose(): void;
}
