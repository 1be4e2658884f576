// Original file: proto/shardlab/v1/shardlab.proto


export interface AllReduceReply {
  /**
   * element-wise sum over all workers, in worker order
   */
  'sum'?: (number | string)[];
}

export interface AllReduceReply__Output {
  /**
   * element-wise sum over all workers, in worker order
   */
  'sum': (number)[];
}
