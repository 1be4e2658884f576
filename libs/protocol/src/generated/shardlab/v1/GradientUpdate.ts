// Original file: proto/shardlab/v1/shardlab.proto

import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from '../../shardlab/v1/Tensor';

export interface GradientUpdate {
  'runId'?: (string);
  'worker'?: (number);
  'step'?: (number);
  /**
   * weight of this gradient in the average
   */
  'samples'?: (number);
  /**
   * mean loss over the batch, before the update
   */
  'loss'?: (number | string);
  /**
   * flat: the mean gradient over the batch (sync-sgd) or the pseudo-gradient of the round
   */
  'gradient'?: (_shardlab_v1_Tensor | null);
  /**
   * checksum of the replica's parameters before this step's gradient
   */
  'paramChecksum'?: (string);
  /**
   * time spent computing the gradient
   */
  'computeMs'?: (number | string);
  /**
   * non-trainable state after this step (BatchNorm running statistics); empty without
   */
  'buffers'?: (_shardlab_v1_Tensor | null);
  /**
   * L2 norm of `gradient` (ring: reported even when the gradient is not sent)
   */
  'gradNorm'?: (number | string);
  /**
   * ring: time spent in the previous step's all-reduce (a report leaves before its own)
   */
  'reduceMs'?: (number | string);
  /**
   * ring: the parameters after this step, when report_params asked for them
   */
  'params'?: (_shardlab_v1_Tensor | null);
  /**
   * this worker cannot finish the step (e.g. a ring neighbour is unreachable):
   */
  'error'?: (string);
  /**
   * the run stops with this reason; every other field is ignored
   */
  'loopDelayMs'?: (number | string);
  /**
   * the same report again, after the connection to the coordinator was re-established:
   */
  'resend'?: (boolean);
  /**
   * answered like the first one if that arrived, taken if it did not
   */
  'optimizerState'?: (Buffer | Uint8Array | string);
  /**
   * (float64, little-endian; empty for plain SGD), beside `params`
   */
  'discarded'?: (number | string);
  /**
   * the rule left out this step (the report then leaves after the combination)
   */
  'retry'?: (boolean);
}

export interface GradientUpdate__Output {
  'runId': (string);
  'worker': (number);
  'step': (number);
  /**
   * weight of this gradient in the average
   */
  'samples': (number);
  /**
   * mean loss over the batch, before the update
   */
  'loss': (number);
  /**
   * flat: the mean gradient over the batch (sync-sgd) or the pseudo-gradient of the round
   */
  'gradient': (_shardlab_v1_Tensor__Output | null);
  /**
   * checksum of the replica's parameters before this step's gradient
   */
  'paramChecksum': (string);
  /**
   * time spent computing the gradient
   */
  'computeMs': (number);
  /**
   * non-trainable state after this step (BatchNorm running statistics); empty without
   */
  'buffers': (_shardlab_v1_Tensor__Output | null);
  /**
   * L2 norm of `gradient` (ring: reported even when the gradient is not sent)
   */
  'gradNorm': (number);
  /**
   * ring: time spent in the previous step's all-reduce (a report leaves before its own)
   */
  'reduceMs': (number);
  /**
   * ring: the parameters after this step, when report_params asked for them
   */
  'params': (_shardlab_v1_Tensor__Output | null);
  /**
   * this worker cannot finish the step (e.g. a ring neighbour is unreachable):
   */
  'error': (string);
  /**
   * the run stops with this reason; every other field is ignored
   */
  'loopDelayMs': (number);
  /**
   * the same report again, after the connection to the coordinator was re-established:
   */
  'resend': (boolean);
  /**
   * answered like the first one if that arrived, taken if it did not
   */
  'optimizerState': (Buffer);
  /**
   * (float64, little-endian; empty for plain SGD), beside `params`
   */
  'discarded': (number);
  /**
   * the rule left out this step (the report then leaves after the combination)
   */
  'retry': (boolean);
}
