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
   * flat, mean over the batch
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
   * flat, mean over the batch
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
}
