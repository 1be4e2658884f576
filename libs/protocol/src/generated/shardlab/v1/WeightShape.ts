// Original file: proto/shardlab/v1/shardlab.proto


export interface WeightShape {
  /**
   * the name in the weights manifest ("dense_1/kernel")
   */
  'name'?: (string);
  'shape'?: (number)[];
}

export interface WeightShape__Output {
  /**
   * the name in the weights manifest ("dense_1/kernel")
   */
  'name': (string);
  'shape': (number)[];
}
