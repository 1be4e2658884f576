/*
 * Message and service types of shardlab.v1, re-exported from the generated files
 * (src/generated, written by `npm run gen:proto`; never edit those by hand).
 *
 * As in grpc-node's examples, each message has two types:
 *   Foo          what you *send*: every field optional, numbers may be strings, bytes may be
 *                Buffer | Uint8Array | string;
 *   Foo__Output  what you *receive*: with the loader options in use (defaults: true) every
 *                scalar is present with its proto3 default, message fields are `T | null`.
 * So a handler is typed grpc.handleUnaryCall<Request__Output, Reply>, which is exactly what
 * CoordinatorHandlers spells out.
 */
export type { ProtoGrpcType } from './generated/shardlab';
export type {
  CoordinatorClient,
  CoordinatorDefinition,
  CoordinatorHandlers,
} from './generated/shardlab/v1/Coordinator';
export type { AllReduceReply, AllReduceReply__Output } from './generated/shardlab/v1/AllReduceReply';
export type { AllReduceRequest, AllReduceRequest__Output } from './generated/shardlab/v1/AllReduceRequest';
export type { Batch, Batch__Output } from './generated/shardlab/v1/Batch';
export type { GradientAck, GradientAck__Output } from './generated/shardlab/v1/GradientAck';
export type { GradientUpdate, GradientUpdate__Output } from './generated/shardlab/v1/GradientUpdate';
export type { JoinReply, JoinReply__Output } from './generated/shardlab/v1/JoinReply';
export type { JoinRequest, JoinRequest__Output } from './generated/shardlab/v1/JoinRequest';
export type { ModelSpec, ModelSpec__Output } from './generated/shardlab/v1/ModelSpec';
export type { NextStepRequest, NextStepRequest__Output } from './generated/shardlab/v1/NextStepRequest';
export type { OptimizerSpec, OptimizerSpec__Output } from './generated/shardlab/v1/OptimizerSpec';
export type { RunStatus, RunStatus__Output } from './generated/shardlab/v1/RunStatus';
export type { StatusRequest, StatusRequest__Output } from './generated/shardlab/v1/StatusRequest';
export type { StepAssignment, StepAssignment__Output } from './generated/shardlab/v1/StepAssignment';
export type { Tensor, Tensor__Output } from './generated/shardlab/v1/Tensor';
export type { DataFingerprint, DataFingerprint__Output } from './generated/shardlab/v1/DataFingerprint';
export type { DatasetDescription, DatasetDescription__Output } from './generated/shardlab/v1/DatasetDescription';
export type { DatasetRequest, DatasetRequest__Output } from './generated/shardlab/v1/DatasetRequest';
export type { DatasetSpec, DatasetSpec__Output } from './generated/shardlab/v1/DatasetSpec';
export type { PeerClient, PeerDefinition, PeerHandlers } from './generated/shardlab/v1/Peer';
export type { PeerChunk, PeerChunk__Output } from './generated/shardlab/v1/PeerChunk';
export type { PeerSubscription, PeerSubscription__Output } from './generated/shardlab/v1/PeerSubscription';
