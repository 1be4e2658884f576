// Original file: proto/shardlab/v1/shardlab.proto


export interface OptimizerSpec {
  /**
   * "sgd" | "momentum" | "adam"
   */
  'name'?: (string);
  'lr'?: (number | string);
  /**
   * "momentum" only
   */
  'momentum'?: (number | string);
  /**
   * "adam" only
   */
  'beta1'?: (number | string);
  'beta2'?: (number | string);
  'epsilon'?: (number | string);
}

export interface OptimizerSpec__Output {
  /**
   * "sgd" | "momentum" | "adam"
   */
  'name': (string);
  'lr': (number);
  /**
   * "momentum" only
   */
  'momentum': (number);
  /**
   * "adam" only
   */
  'beta1': (number);
  'beta2': (number);
  'epsilon': (number);
}
