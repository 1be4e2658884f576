// Original file: proto/shardlab/v1/shardlab.proto


export interface AllReduceRequest {
  'runId'?: (string);
  'worker'?: (number);
  'step'?: (number);
  /**
   * which reduction within the step (0, 1, 2, ... in program order)
   */
  'tag'?: (number);
  /**
   * Small vectors only (a few hundred values): big tensors travel as Tensor bytes.
   */
  'values'?: (number | string)[];
  /**
   * the same request again after a reconnect: answered with the sum, never added twice
   */
  'resend'?: (boolean);
}

export interface AllReduceRequest__Output {
  'runId': (string);
  'worker': (number);
  'step': (number);
  /**
   * which reduction within the step (0, 1, 2, ... in program order)
   */
  'tag': (number);
  /**
   * Small vectors only (a few hundred values): big tensors travel as Tensor bytes.
   */
  'values': (number)[];
  /**
   * the same request again after a reconnect: answered with the sum, never added twice
   */
  'resend': (boolean);
}
