// Original file: proto/shardlab/v1/shardlab.proto

import type { DataFingerprint as _shardlab_v1_DataFingerprint, DataFingerprint__Output as _shardlab_v1_DataFingerprint__Output } from '../../shardlab/v1/DataFingerprint';

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
  /**
   * the trainer's copy of the training set; required with feed "ids"
   */
  'data'?: (_shardlab_v1_DataFingerprint | null);
  /**
   * host:port of this trainer's Peer service; required with collective "ring"
   */
  'peerAddress'?: (string);
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
  /**
   * the trainer's copy of the training set; required with feed "ids"
   */
  'data': (_shardlab_v1_DataFingerprint__Output | null);
  /**
   * host:port of this trainer's Peer service; required with collective "ring"
   */
  'peerAddress': (string);
}
