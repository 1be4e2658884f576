// Original file: proto/shardlab/v1/shardlab.proto


export interface ModelSpec {
  /**
   * "mlp"
   */
  'kind'?: (string);
  'inputSize'?: (number);
  'hidden'?: (number)[];
  'classes'?: (number);
  /**
   * every replica draws the same initial weights from it
   */
  'initSeed'?: (number);
}

export interface ModelSpec__Output {
  /**
   * "mlp"
   */
  'kind': (string);
  'inputSize': (number);
  'hidden': (number)[];
  'classes': (number);
  /**
   * every replica draws the same initial weights from it
   */
  'initSeed': (number);
}
