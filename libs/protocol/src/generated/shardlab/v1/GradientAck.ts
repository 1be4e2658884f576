// Original file: proto/shardlab/v1/shardlab.proto

import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from '../../shardlab/v1/Tensor';

export interface GradientAck {
  /**
   * relay: the sample-weighted average of every worker's gradient of this step
   */
  'update'?: (_shardlab_v1_Tensor | null);
}

export interface GradientAck__Output {
  /**
   * relay: the sample-weighted average of every worker's gradient of this step
   */
  'update': (_shardlab_v1_Tensor__Output | null);
}
