import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AllReduceReply as _shardlab_v1_AllReduceReply, AllReduceReply__Output as _shardlab_v1_AllReduceReply__Output } from './shardlab/v1/AllReduceReply';
import type { AllReduceRequest as _shardlab_v1_AllReduceRequest, AllReduceRequest__Output as _shardlab_v1_AllReduceRequest__Output } from './shardlab/v1/AllReduceRequest';
import type { Batch as _shardlab_v1_Batch, Batch__Output as _shardlab_v1_Batch__Output } from './shardlab/v1/Batch';
import type { CoordinatorClient as _shardlab_v1_CoordinatorClient, CoordinatorDefinition as _shardlab_v1_CoordinatorDefinition } from './shardlab/v1/Coordinator';
import type { GradientAck as _shardlab_v1_GradientAck, GradientAck__Output as _shardlab_v1_GradientAck__Output } from './shardlab/v1/GradientAck';
import type { GradientUpdate as _shardlab_v1_GradientUpdate, GradientUpdate__Output as _shardlab_v1_GradientUpdate__Output } from './shardlab/v1/GradientUpdate';
import type { JoinReply as _shardlab_v1_JoinReply, JoinReply__Output as _shardlab_v1_JoinReply__Output } from './shardlab/v1/JoinReply';
import type { JoinRequest as _shardlab_v1_JoinRequest, JoinRequest__Output as _shardlab_v1_JoinRequest__Output } from './shardlab/v1/JoinRequest';
import type { ModelSpec as _shardlab_v1_ModelSpec, ModelSpec__Output as _shardlab_v1_ModelSpec__Output } from './shardlab/v1/ModelSpec';
import type { NextStepRequest as _shardlab_v1_NextStepRequest, NextStepRequest__Output as _shardlab_v1_NextStepRequest__Output } from './shardlab/v1/NextStepRequest';
import type { OptimizerSpec as _shardlab_v1_OptimizerSpec, OptimizerSpec__Output as _shardlab_v1_OptimizerSpec__Output } from './shardlab/v1/OptimizerSpec';
import type { RunStatus as _shardlab_v1_RunStatus, RunStatus__Output as _shardlab_v1_RunStatus__Output } from './shardlab/v1/RunStatus';
import type { StatusRequest as _shardlab_v1_StatusRequest, StatusRequest__Output as _shardlab_v1_StatusRequest__Output } from './shardlab/v1/StatusRequest';
import type { StepAssignment as _shardlab_v1_StepAssignment, StepAssignment__Output as _shardlab_v1_StepAssignment__Output } from './shardlab/v1/StepAssignment';
import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from './shardlab/v1/Tensor';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  shardlab: {
    v1: {
      AllReduceReply: MessageTypeDefinition<_shardlab_v1_AllReduceReply, _shardlab_v1_AllReduceReply__Output>
      AllReduceRequest: MessageTypeDefinition<_shardlab_v1_AllReduceRequest, _shardlab_v1_AllReduceRequest__Output>
      Batch: MessageTypeDefinition<_shardlab_v1_Batch, _shardlab_v1_Batch__Output>
      Coordinator: SubtypeConstructor<typeof grpc.Client, _shardlab_v1_CoordinatorClient> & { service: _shardlab_v1_CoordinatorDefinition }
      GradientAck: MessageTypeDefinition<_shardlab_v1_GradientAck, _shardlab_v1_GradientAck__Output>
      GradientUpdate: MessageTypeDefinition<_shardlab_v1_GradientUpdate, _shardlab_v1_GradientUpdate__Output>
      JoinReply: MessageTypeDefinition<_shardlab_v1_JoinReply, _shardlab_v1_JoinReply__Output>
      JoinRequest: MessageTypeDefinition<_shardlab_v1_JoinRequest, _shardlab_v1_JoinRequest__Output>
      ModelSpec: MessageTypeDefinition<_shardlab_v1_ModelSpec, _shardlab_v1_ModelSpec__Output>
      NextStepRequest: MessageTypeDefinition<_shardlab_v1_NextStepRequest, _shardlab_v1_NextStepRequest__Output>
      OptimizerSpec: MessageTypeDefinition<_shardlab_v1_OptimizerSpec, _shardlab_v1_OptimizerSpec__Output>
      RunStatus: MessageTypeDefinition<_shardlab_v1_RunStatus, _shardlab_v1_RunStatus__Output>
      StatusRequest: MessageTypeDefinition<_shardlab_v1_StatusRequest, _shardlab_v1_StatusRequest__Output>
      StepAssignment: MessageTypeDefinition<_shardlab_v1_StepAssignment, _shardlab_v1_StepAssignment__Output>
      Tensor: MessageTypeDefinition<_shardlab_v1_Tensor, _shardlab_v1_Tensor__Output>
    }
  }
}

