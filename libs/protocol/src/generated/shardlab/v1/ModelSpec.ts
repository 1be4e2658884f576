// Original file: proto/shardlab/v1/shardlab.proto


export interface ModelSpec {
  /**
   * "mlp" | "cnn"
   */
  'kind'?: (string);
  'inputSize'?: (number);
  'hidden'?: (number)[];
  'classes'?: (number);
  /**
   * every replica draws the same initial weights from it
   */
  'initSeed'?: (number);
  /**
   * "none" | "batch" | "sync-batch" | "group" | "layer"
   */
  'norm'?: (string);
}

export interface ModelSpec__Output {
  /**
   * "mlp" | "cnn"
   */
  'kind': (string);
  'inputSize': (number);
  'hidden': (number)[];
  'classes': (number);
  /**
   * every replica draws the same initial weights from it
   */
  'initSeed': (number);
  /**
   * "none" | "batch" | "sync-batch" | "group" | "layer"
   */
  'norm': (string);
}
