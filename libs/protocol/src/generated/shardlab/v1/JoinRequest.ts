// Original file: proto/shardlab/v1/shardlab.proto


export interface JoinRequest {
  'protocolVersion'?: (number);
  /**
   * free-form, for logs (hostname, pid)
   */
  'name'?: (string);
  /**
   * the TensorFlow.js backend this trainer runs
   */
  'backend'?: (string);
}

export interface JoinRequest__Output {
  'protocolVersion': (number);
  /**
   * free-form, for logs (hostname, pid)
   */
  'name': (string);
  /**
   * the TensorFlow.js backend this trainer runs
   */
  'backend': (string);
}
