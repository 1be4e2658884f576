import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AllReduceReply as _shardlab_v1_AllReduceReply, AllReduceReply__Output as _shardlab_v1_AllReduceReply__Output } from './shardlab/v1/AllReduceReply';
import type { AllReduceRequest as _shardlab_v1_AllReduceRequest, AllReduceRequest__Output as _shardlab_v1_AllReduceRequest__Output } from './shardlab/v1/AllReduceRequest';
import type { Batch as _shardlab_v1_Batch, Batch__Output as _shardlab_v1_Batch__Output } from './shardlab/v1/Batch';
import type { CoordinatorClient as _shardlab_v1_CoordinatorClient, CoordinatorDefinition as _shardlab_v1_CoordinatorDefinition } from './shardlab/v1/Coordinator';
import type { DataFingerprint as _shardlab_v1_DataFingerprint, DataFingerprint__Output as _shardlab_v1_DataFingerprint__Output } from './shardlab/v1/DataFingerprint';
import type { DatasetDescription as _shardlab_v1_DatasetDescription, DatasetDescription__Output as _shardlab_v1_DatasetDescription__Output } from './shardlab/v1/DatasetDescription';
import type { DatasetRequest as _shardlab_v1_DatasetRequest, DatasetRequest__Output as _shardlab_v1_DatasetRequest__Output } from './shardlab/v1/DatasetRequest';
import type { DatasetSpec as _shardlab_v1_DatasetSpec, DatasetSpec__Output as _shardlab_v1_DatasetSpec__Output } from './shardlab/v1/DatasetSpec';
import type { GradientAck as _shardlab_v1_GradientAck, GradientAck__Output as _shardlab_v1_GradientAck__Output } from './shardlab/v1/GradientAck';
import type { GradientUpdate as _shardlab_v1_GradientUpdate, GradientUpdate__Output as _shardlab_v1_GradientUpdate__Output } from './shardlab/v1/GradientUpdate';
import type { JoinReply as _shardlab_v1_JoinReply, JoinReply__Output as _shardlab_v1_JoinReply__Output } from './shardlab/v1/JoinReply';
import type { JoinRequest as _shardlab_v1_JoinRequest, JoinRequest__Output as _shardlab_v1_JoinRequest__Output } from './shardlab/v1/JoinRequest';
import type { LayersModel as _shardlab_v1_LayersModel, LayersModel__Output as _shardlab_v1_LayersModel__Output } from './shardlab/v1/LayersModel';
import type { ModelSpec as _shardlab_v1_ModelSpec, ModelSpec__Output as _shardlab_v1_ModelSpec__Output } from './shardlab/v1/ModelSpec';
import type { NextStepRequest as _shardlab_v1_NextStepRequest, NextStepRequest__Output as _shardlab_v1_NextStepRequest__Output } from './shardlab/v1/NextStepRequest';
import type { OptimizerSpec as _shardlab_v1_OptimizerSpec, OptimizerSpec__Output as _shardlab_v1_OptimizerSpec__Output } from './shardlab/v1/OptimizerSpec';
import type { PeerClient as _shardlab_v1_PeerClient, PeerDefinition as _shardlab_v1_PeerDefinition } from './shardlab/v1/Peer';
import type { PeerChunk as _shardlab_v1_PeerChunk, PeerChunk__Output as _shardlab_v1_PeerChunk__Output } from './shardlab/v1/PeerChunk';
import type { PeerSubscription as _shardlab_v1_PeerSubscription, PeerSubscription__Output as _shardlab_v1_PeerSubscription__Output } from './shardlab/v1/PeerSubscription';
import type { RunStatus as _shardlab_v1_RunStatus, RunStatus__Output as _shardlab_v1_RunStatus__Output } from './shardlab/v1/RunStatus';
import type { StatusRequest as _shardlab_v1_StatusRequest, StatusRequest__Output as _shardlab_v1_StatusRequest__Output } from './shardlab/v1/StatusRequest';
import type { StepAssignment as _shardlab_v1_StepAssignment, StepAssignment__Output as _shardlab_v1_StepAssignment__Output } from './shardlab/v1/StepAssignment';
import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from './shardlab/v1/Tensor';
import type { WeightShape as _shardlab_v1_WeightShape, WeightShape__Output as _shardlab_v1_WeightShape__Output } from './shardlab/v1/WeightShape';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  shardlab: {
    v1: {
      AllReduceReply: MessageTypeDefinition<_shardlab_v1_AllReduceReply, _shardlab_v1_AllReduceReply__Output>
      AllReduceRequest: MessageTypeDefinition<_shardlab_v1_AllReduceRequest, _shardlab_v1_AllReduceRequest__Output>
      Batch: MessageTypeDefinition<_shardlab_v1_Batch, _shardlab_v1_Batch__Output>
      /**
       * Access (with a run token, --token-file / SHARDLAB_TOKEN): every call carries "authorization: Bearer
       * <token>" except GetStatus, which answers a caller without it only what a health check needs; NextStep,
       * PushGradient, PushGradientStream and AllReduce also carry the worker credential Join issued (JoinReply.credential). Checked
       * before the request is read: UNAUTHENTICATED without the token, PERMISSION_DENIED with another worker's
       * credential; RESOURCE_EXHAUSTED for a request over its method's size limit (derived from the model).
       */
      Coordinator: SubtypeConstructor<typeof grpc.Client, _shardlab_v1_CoordinatorClient> & { service: _shardlab_v1_CoordinatorDefinition }
      DataFingerprint: MessageTypeDefinition<_shardlab_v1_DataFingerprint, _shardlab_v1_DataFingerprint__Output>
      DatasetDescription: MessageTypeDefinition<_shardlab_v1_DatasetDescription, _shardlab_v1_DatasetDescription__Output>
      DatasetRequest: MessageTypeDefinition<_shardlab_v1_DatasetRequest, _shardlab_v1_DatasetRequest__Output>
      DatasetSpec: MessageTypeDefinition<_shardlab_v1_DatasetSpec, _shardlab_v1_DatasetSpec__Output>
      GradientAck: MessageTypeDefinition<_shardlab_v1_GradientAck, _shardlab_v1_GradientAck__Output>
      GradientUpdate: MessageTypeDefinition<_shardlab_v1_GradientUpdate, _shardlab_v1_GradientUpdate__Output>
      JoinReply: MessageTypeDefinition<_shardlab_v1_JoinReply, _shardlab_v1_JoinReply__Output>
      JoinRequest: MessageTypeDefinition<_shardlab_v1_JoinRequest, _shardlab_v1_JoinRequest__Output>
      LayersModel: MessageTypeDefinition<_shardlab_v1_LayersModel, _shardlab_v1_LayersModel__Output>
      ModelSpec: MessageTypeDefinition<_shardlab_v1_ModelSpec, _shardlab_v1_ModelSpec__Output>
      NextStepRequest: MessageTypeDefinition<_shardlab_v1_NextStepRequest, _shardlab_v1_NextStepRequest__Output>
      OptimizerSpec: MessageTypeDefinition<_shardlab_v1_OptimizerSpec, _shardlab_v1_OptimizerSpec__Output>
      /**
       * Served by every trainer under --collective ring or halving-doubling: the chunks of every all-reduce of the
       * run, to each worker this trainer sends to (ring: the next worker, (w + 1) mod W; halving-doubling: each
       * partner w XOR 2^j), which subscribes once, at step 0, and reads one stream for the whole run
       * (one stream, not a call per chunk: a unary call costs ~1 ms of CPU here, a streamed message a fraction of
       * that). The receiver is the client because a client sets its own HTTP/2 flow-control window: a server's
       * 64 KB default made every chunk of a ring all-reduce wait for a window update mid-message. The stream ends
       * with the run. PERMISSION_DENIED for another run or a subscriber this trainer does not send to;
       * ALREADY_EXISTS for a second subscription.
       */
      Peer: SubtypeConstructor<typeof grpc.Client, _shardlab_v1_PeerClient> & { service: _shardlab_v1_PeerDefinition }
      PeerChunk: MessageTypeDefinition<_shardlab_v1_PeerChunk, _shardlab_v1_PeerChunk__Output>
      PeerSubscription: MessageTypeDefinition<_shardlab_v1_PeerSubscription, _shardlab_v1_PeerSubscription__Output>
      RunStatus: MessageTypeDefinition<_shardlab_v1_RunStatus, _shardlab_v1_RunStatus__Output>
      StatusRequest: MessageTypeDefinition<_shardlab_v1_StatusRequest, _shardlab_v1_StatusRequest__Output>
      StepAssignment: MessageTypeDefinition<_shardlab_v1_StepAssignment, _shardlab_v1_StepAssignment__Output>
      Tensor: MessageTypeDefinition<_shardlab_v1_Tensor, _shardlab_v1_Tensor__Output>
      WeightShape: MessageTypeDefinition<_shardlab_v1_WeightShape, _shardlab_v1_WeightShape__Output>
    }
  }
}

