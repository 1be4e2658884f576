// Original file: proto/shardlab/v1/shardlab.proto

import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from '../../shardlab/v1/Tensor';
import type { StepAssignment as _shardlab_v1_StepAssignment, StepAssignment__Output as _shardlab_v1_StepAssignment__Output } from '../../shardlab/v1/StepAssignment';

export interface GradientAck {
  /**
   * relay: the sample-weighted average of every worker's gradient of this step
   */
  'update'?: (_shardlab_v1_Tensor | null);
  /**
   * the assignment of step + 1 (done when the run is over): no NextStep call needed
   */
  'next'?: (_shardlab_v1_StepAssignment | null);
  /**
   * relay, a model with buffers, --buffers broadcast or average: every worker's buffers after this step
   */
  'buffers'?: (_shardlab_v1_Tensor | null);
}

export interface GradientAck__Output {
  /**
   * relay: the sample-weighted average of every worker's gradient of this step
   */
  'update': (_shardlab_v1_Tensor__Output | null);
  /**
   * the assignment of step + 1 (done when the run is over): no NextStep call needed
   */
  'next': (_shardlab_v1_StepAssignment__Output | null);
  /**
   * relay, a model with buffers, --buffers broadcast or average: every worker's buffers after this step
   */
  'buffers': (_shardlab_v1_Tensor__Output | null);
}
