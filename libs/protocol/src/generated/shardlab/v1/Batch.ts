// Original file: proto/shardlab/v1/shardlab.proto

import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from '../../shardlab/v1/Tensor';

export interface Batch {
  /**
   * [n, input_size]
   */
  'features'?: (_shardlab_v1_Tensor | null);
  /**
   * n class indices
   */
  'labels'?: (number)[];
  /**
   * n sample ids in the coordinator's training set (for tracing)
   */
  'ids'?: (number)[];
}

export interface Batch__Output {
  /**
   * [n, input_size]
   */
  'features': (_shardlab_v1_Tensor__Output | null);
  /**
   * n class indices
   */
  'labels': (number)[];
  /**
   * n sample ids in the coordinator's training set (for tracing)
   */
  'ids': (number)[];
}
