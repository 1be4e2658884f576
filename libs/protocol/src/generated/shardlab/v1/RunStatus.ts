// Original file: proto/shardlab/v1/shardlab.proto


export interface RunStatus {
  'runId'?: (string);
  /**
   * "waiting" | "running" | "finished" | "failed"
   */
  'state'?: (string);
  /**
   * steps completed
   */
  'step'?: (number);
  'steps'?: (number);
  'workers'?: (number);
  'joined'?: (number);
  'strategy'?: (string);
  'lastLoss'?: (number | string);
  /**
   * last evaluation, -1 before the first
   */
  'testAccuracy'?: (number | string);
  'error'?: (string);
  /**
   * per worker: steps whose gradient was averaged in
   */
  'contributions'?: (number)[];
}

export interface RunStatus__Output {
  'runId': (string);
  /**
   * "waiting" | "running" | "finished" | "failed"
   */
  'state': (string);
  /**
   * steps completed
   */
  'step': (number);
  'steps': (number);
  'workers': (number);
  'joined': (number);
  'strategy': (string);
  'lastLoss': (number);
  /**
   * last evaluation, -1 before the first
   */
  'testAccuracy': (number);
  'error': (string);
  /**
   * per worker: steps whose gradient was averaged in
   */
  'contributions': (number)[];
}
