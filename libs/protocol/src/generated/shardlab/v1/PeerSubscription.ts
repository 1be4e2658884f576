// Original file: proto/shardlab/v1/shardlab.proto


export interface PeerSubscription {
  'runId'?: (string);
  /**
   * the subscriber: the next worker of the ring
   */
  'worker'?: (number);
}

export interface PeerSubscription__Output {
  'runId': (string);
  /**
   * the subscriber: the next worker of the ring
   */
  'worker': (number);
}
