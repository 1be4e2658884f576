// Original file: proto/shardlab/v1/shardlab.proto

import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from '../../shardlab/v1/Tensor';
import type { Batch as _shardlab_v1_Batch, Batch__Output as _shardlab_v1_Batch__Output } from '../../shardlab/v1/Batch';

export interface StepAssignment {
  'step'?: (number);
  /**
   * the run is over: apply `update`, if any, and leave
   */
  'done'?: (boolean);
  /**
   * averaged gradient of step-1; empty at step 0
   */
  'update'?: (_shardlab_v1_Tensor | null);
  /**
   * one per local step (exactly one for sync-sgd)
   */
  'batches'?: (_shardlab_v1_Batch)[];
  /**
   * send param_checksum with this step's gradient
   */
  'reportChecksum'?: (boolean);
  /**
   * set when done before the planned last step
   */
  'stopReason'?: (string);
}

export interface StepAssignment__Output {
  'step': (number);
  /**
   * the run is over: apply `update`, if any, and leave
   */
  'done': (boolean);
  /**
   * averaged gradient of step-1; empty at step 0
   */
  'update': (_shardlab_v1_Tensor__Output | null);
  /**
   * one per local step (exactly one for sync-sgd)
   */
  'batches': (_shardlab_v1_Batch__Output)[];
  /**
   * send param_checksum with this step's gradient
   */
  'reportChecksum': (boolean);
  /**
   * set when done before the planned last step
   */
  'stopReason': (string);
}
