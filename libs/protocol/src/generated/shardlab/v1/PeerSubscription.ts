// Original file: proto/shardlab/v1/shardlab.proto


export interface PeerSubscription {
  'runId'?: (string);
  /**
   * the subscriber: a worker this trainer sends to
   */
  'worker'?: (number);
  /**
   * the collective's membership it subscribes for (StepAssignment.epoch)
   */
  'epoch'?: (number);
}

export interface PeerSubscription__Output {
  'runId': (string);
  /**
   * the subscriber: a worker this trainer sends to
   */
  'worker': (number);
  /**
   * the collective's membership it subscribes for (StepAssignment.epoch)
   */
  'epoch': (number);
}
