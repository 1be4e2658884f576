import { createOptimizer, paramChecksum, type Optimizer, type OptimizerSpec } from '@shardlab/aggregation';
import { initParams, type ModelSpec } from '@shardlab/model';

/**
 * One copy of the model parameters plus its optimizer state. Every trainer and the
 * coordinator hold one and apply the same averaged gradient with the same plain-JS
 * optimizer, so replicas stay bit-identical whatever TensorFlow.js backend computed
 * the gradients; checksums prove it at run time.
 */
export class Replica {
  readonly params: Float32Array;
  private readonly optimizer: Optimizer;

  constructor(readonly model: ModelSpec, optimizer: OptimizerSpec) {
    this.params = initParams(model);
    this.optimizer = createOptimizer(optimizer, this.params.length);
  }

  /** sync-sgd: the averaged gradient goes through the optimizer. */
  apply(update: Float32Array): void {
    this.optimizer.apply(this.params, update);
  }

  /**
   * fedavg/fedprox: subtract the averaged pseudo-gradient (round-start minus round-end
   * parameters), which lands every replica on the sample-weighted average of the workers' parameters.
   */
  applyDelta(delta: Float32Array): void {
    const p = this.params;
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - delta[i]!;
  }

  /** The optimizer's whole state (see Optimizer.exportState). */
  optimizerState(): Float64Array {
    return this.optimizer.exportState();
  }

  /** Puts this replica where another one was: its parameters and optimizer state (a checkpoint, a late joiner). */
  restore(params: Float32Array, optimizerState: Float64Array): void {
    if (params.length !== this.params.length) throw new RangeError(`restore: expected ${this.params.length} parameters, got ${params.length}`);
    this.params.set(params);
    this.optimizer.importState(optimizerState);
  }

  /** The parameters' checksum, with the model's buffers when every worker must hold the same (see paramChecksum). */
  checksum(buffers?: Float32Array): string {
    return paramChecksum(this.params, buffers);
  }
}
