// Original file: proto/shardlab/v1/shardlab.proto

import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from '../../shardlab/v1/Tensor';

export interface Batch {
  /**
   * [n, input_size]; feed "features" only
   */
  'features'?: (_shardlab_v1_Tensor | null);
  /**
   * n class indices; feed "features" only
   */
  'labels'?: (number)[];
  /**
   * n sample ids in the training set
   */
  'ids'?: (number)[];
}

export interface Batch__Output {
  /**
   * [n, input_size]; feed "features" only
   */
  'features': (_shardlab_v1_Tensor__Output | null);
  /**
   * n class indices; feed "features" only
   */
  'labels': (number)[];
  /**
   * n sample ids in the training set
   */
  'ids': (number)[];
}
