// Original file: proto/shardlab/v1/shardlab.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AllReduceReply as _shardlab_v1_AllReduceReply, AllReduceReply__Output as _shardlab_v1_AllReduceReply__Output } from '../../shardlab/v1/AllReduceReply';
import type { AllReduceRequest as _shardlab_v1_AllReduceRequest, AllReduceRequest__Output as _shardlab_v1_AllReduceRequest__Output } from '../../shardlab/v1/AllReduceRequest';
import type { DatasetDescription as _shardlab_v1_DatasetDescription, DatasetDescription__Output as _shardlab_v1_DatasetDescription__Output } from '../../shardlab/v1/DatasetDescription';
import type { DatasetRequest as _shardlab_v1_DatasetRequest, DatasetRequest__Output as _shardlab_v1_DatasetRequest__Output } from '../../shardlab/v1/DatasetRequest';
import type { GradientAck as _shardlab_v1_GradientAck, GradientAck__Output as _shardlab_v1_GradientAck__Output } from '../../shardlab/v1/GradientAck';
import type { GradientUpdate as _shardlab_v1_GradientUpdate, GradientUpdate__Output as _shardlab_v1_GradientUpdate__Output } from '../../shardlab/v1/GradientUpdate';
import type { JoinReply as _shardlab_v1_JoinReply, JoinReply__Output as _shardlab_v1_JoinReply__Output } from '../../shardlab/v1/JoinReply';
import type { JoinRequest as _shardlab_v1_JoinRequest, JoinRequest__Output as _shardlab_v1_JoinRequest__Output } from '../../shardlab/v1/JoinRequest';
import type { NextStepRequest as _shardlab_v1_NextStepRequest, NextStepRequest__Output as _shardlab_v1_NextStepRequest__Output } from '../../shardlab/v1/NextStepRequest';
import type { RunStatus as _shardlab_v1_RunStatus, RunStatus__Output as _shardlab_v1_RunStatus__Output } from '../../shardlab/v1/RunStatus';
import type { StatusRequest as _shardlab_v1_StatusRequest, StatusRequest__Output as _shardlab_v1_StatusRequest__Output } from '../../shardlab/v1/StatusRequest';
import type { StepAssignment as _shardlab_v1_StepAssignment, StepAssignment__Output as _shardlab_v1_StepAssignment__Output } from '../../shardlab/v1/StepAssignment';

/**
 * Access (with a run token, --token-file / SHARDLAB_TOKEN): every call carries "authorization: Bearer
 * <token>" except GetStatus, which answers a caller without it only what a health check needs; NextStep,
 * PushGradient, PushGradientStream and AllReduce also carry the worker credential Join issued (JoinReply.credential). Checked
 * before the request is read: UNAUTHENTICATED without the token, PERMISSION_DENIED with another worker's
 * credential; RESOURCE_EXHAUSTED for a request over its method's size limit (derived from the model).
 */
export interface CoordinatorClient extends grpc.Client {
  /**
   * Element-wise sum over all workers of a small vector, within one step (e.g. SyncBN batch
   * statistics), with --collective relay. Answers once every worker has sent the same (step, tag).
   * Same statuses as PushGradient.
   */
  AllReduce(argument: _shardlab_v1_AllReduceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_AllReduceReply__Output>): grpc.ClientUnaryCall;
  AllReduce(argument: _shardlab_v1_AllReduceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_AllReduceReply__Output>): grpc.ClientUnaryCall;
  AllReduce(argument: _shardlab_v1_AllReduceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_AllReduceReply__Output>): grpc.ClientUnaryCall;
  AllReduce(argument: _shardlab_v1_AllReduceRequest, callback: grpc.requestCallback<_shardlab_v1_AllReduceReply__Output>): grpc.ClientUnaryCall;
  /**
   * Element-wise sum over all workers of a small vector, within one step (e.g. SyncBN batch
   * statistics), with --collective relay. Answers once every worker has sent the same (step, tag).
   * Same statuses as PushGradient.
   */
  allReduce(argument: _shardlab_v1_AllReduceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_AllReduceReply__Output>): grpc.ClientUnaryCall;
  allReduce(argument: _shardlab_v1_AllReduceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_AllReduceReply__Output>): grpc.ClientUnaryCall;
  allReduce(argument: _shardlab_v1_AllReduceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_AllReduceReply__Output>): grpc.ClientUnaryCall;
  allReduce(argument: _shardlab_v1_AllReduceRequest, callback: grpc.requestCallback<_shardlab_v1_AllReduceReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * What a trainer needs before it joins: the feed and the dataset to load. Needs no membership.
   */
  GetDataset(argument: _shardlab_v1_DatasetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_DatasetDescription__Output>): grpc.ClientUnaryCall;
  GetDataset(argument: _shardlab_v1_DatasetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_DatasetDescription__Output>): grpc.ClientUnaryCall;
  GetDataset(argument: _shardlab_v1_DatasetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_DatasetDescription__Output>): grpc.ClientUnaryCall;
  GetDataset(argument: _shardlab_v1_DatasetRequest, callback: grpc.requestCallback<_shardlab_v1_DatasetDescription__Output>): grpc.ClientUnaryCall;
  /**
   * What a trainer needs before it joins: the feed and the dataset to load. Needs no membership.
   */
  getDataset(argument: _shardlab_v1_DatasetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_DatasetDescription__Output>): grpc.ClientUnaryCall;
  getDataset(argument: _shardlab_v1_DatasetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_DatasetDescription__Output>): grpc.ClientUnaryCall;
  getDataset(argument: _shardlab_v1_DatasetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_DatasetDescription__Output>): grpc.ClientUnaryCall;
  getDataset(argument: _shardlab_v1_DatasetRequest, callback: grpc.requestCallback<_shardlab_v1_DatasetDescription__Output>): grpc.ClientUnaryCall;
  
  /**
   * A snapshot of the run, for observers (tests, dashboards). Needs no membership. Without the token:
   * state, step, steps, workers and joined only (no run id, no error text, no losses).
   */
  GetStatus(argument: _shardlab_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _shardlab_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _shardlab_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _shardlab_v1_StatusRequest, callback: grpc.requestCallback<_shardlab_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  /**
   * A snapshot of the run, for observers (tests, dashboards). Needs no membership. Without the token:
   * state, step, steps, workers and joined only (no run id, no error text, no losses).
   */
  getStatus(argument: _shardlab_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _shardlab_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _shardlab_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _shardlab_v1_StatusRequest, callback: grpc.requestCallback<_shardlab_v1_RunStatus__Output>): grpc.ClientUnaryCall;
  
  /**
   * A trainer announces itself. FAILED_PRECONDITION when protocol versions differ or (feed "ids") its
   * data fingerprint differs from the coordinator's, naming what differs; INVALID_ARGUMENT for a
   * malformed request, RESOURCE_EXHAUSTED when every worker slot is taken.
   */
  Join(argument: _shardlab_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _shardlab_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _shardlab_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _shardlab_v1_JoinRequest, callback: grpc.requestCallback<_shardlab_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  /**
   * A trainer announces itself. FAILED_PRECONDITION when protocol versions differ or (feed "ids") its
   * data fingerprint differs from the coordinator's, naming what differs; INVALID_ARGUMENT for a
   * malformed request, RESOURCE_EXHAUSTED when every worker slot is taken.
   */
  join(argument: _shardlab_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _shardlab_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _shardlab_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _shardlab_v1_JoinRequest, callback: grpc.requestCallback<_shardlab_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Long poll: answers once the assignment for `step` exists (or the run ended). A trainer asks for its
   * first step here; every later assignment comes with the answer to its PushGradient.
   */
  NextStep(argument: _shardlab_v1_NextStepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_StepAssignment__Output>): grpc.ClientUnaryCall;
  NextStep(argument: _shardlab_v1_NextStepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_StepAssignment__Output>): grpc.ClientUnaryCall;
  NextStep(argument: _shardlab_v1_NextStepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_StepAssignment__Output>): grpc.ClientUnaryCall;
  NextStep(argument: _shardlab_v1_NextStepRequest, callback: grpc.requestCallback<_shardlab_v1_StepAssignment__Output>): grpc.ClientUnaryCall;
  /**
   * Long poll: answers once the assignment for `step` exists (or the run ended). A trainer asks for its
   * first step here; every later assignment comes with the answer to its PushGradient.
   */
  nextStep(argument: _shardlab_v1_NextStepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_StepAssignment__Output>): grpc.ClientUnaryCall;
  nextStep(argument: _shardlab_v1_NextStepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_StepAssignment__Output>): grpc.ClientUnaryCall;
  nextStep(argument: _shardlab_v1_NextStepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_StepAssignment__Output>): grpc.ClientUnaryCall;
  nextStep(argument: _shardlab_v1_NextStepRequest, callback: grpc.requestCallback<_shardlab_v1_StepAssignment__Output>): grpc.ClientUnaryCall;
  
  /**
   * One worker's gradient for one step, answered once every worker's is in, with the next step's
   * assignment (so a step costs one call, not a PushGradient and a NextStep). PERMISSION_DENIED for a worker that never joined,
   * FAILED_PRECONDITION for the wrong step, INVALID_ARGUMENT for a wrong length or NaN/Inf,
   * ALREADY_EXISTS for a second gradient for the same step.
   */
  PushGradient(argument: _shardlab_v1_GradientUpdate, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_GradientAck__Output>): grpc.ClientUnaryCall;
  PushGradient(argument: _shardlab_v1_GradientUpdate, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_GradientAck__Output>): grpc.ClientUnaryCall;
  PushGradient(argument: _shardlab_v1_GradientUpdate, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_GradientAck__Output>): grpc.ClientUnaryCall;
  PushGradient(argument: _shardlab_v1_GradientUpdate, callback: grpc.requestCallback<_shardlab_v1_GradientAck__Output>): grpc.ClientUnaryCall;
  /**
   * One worker's gradient for one step, answered once every worker's is in, with the next step's
   * assignment (so a step costs one call, not a PushGradient and a NextStep). PERMISSION_DENIED for a worker that never joined,
   * FAILED_PRECONDITION for the wrong step, INVALID_ARGUMENT for a wrong length or NaN/Inf,
   * ALREADY_EXISTS for a second gradient for the same step.
   */
  pushGradient(argument: _shardlab_v1_GradientUpdate, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_GradientAck__Output>): grpc.ClientUnaryCall;
  pushGradient(argument: _shardlab_v1_GradientUpdate, metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_GradientAck__Output>): grpc.ClientUnaryCall;
  pushGradient(argument: _shardlab_v1_GradientUpdate, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_GradientAck__Output>): grpc.ClientUnaryCall;
  pushGradient(argument: _shardlab_v1_GradientUpdate, callback: grpc.requestCallback<_shardlab_v1_GradientAck__Output>): grpc.ClientUnaryCall;
  
  /**
   * PushGradient's requests and answers on one stream, for the whole run: each GradientUpdate is answered, in
   * order, by the GradientAck PushGradient would return for it, and a refusal ends the stream with PushGradient's
   * status. Trainers push this way from their first step on: a unary call costs ~0.7 ms of client CPU and
   * ~0.35 ms of server CPU in grpc-js, a message on an open stream ~0.1 ms each. The worker credential is
   * checked when the stream opens and again with every later message (a worker slot refilled meanwhile, with
   * --lost-worker replace, refuses its old holder).
   */
  PushGradientStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_shardlab_v1_GradientUpdate, _shardlab_v1_GradientAck__Output>;
  PushGradientStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_shardlab_v1_GradientUpdate, _shardlab_v1_GradientAck__Output>;
  /**
   * PushGradient's requests and answers on one stream, for the whole run: each GradientUpdate is answered, in
   * order, by the GradientAck PushGradient would return for it, and a refusal ends the stream with PushGradient's
   * status. Trainers push this way from their first step on: a unary call costs ~0.7 ms of client CPU and
   * ~0.35 ms of server CPU in grpc-js, a message on an open stream ~0.1 ms each. The worker credential is
   * checked when the stream opens and again with every later message (a worker slot refilled meanwhile, with
   * --lost-worker replace, refuses its old holder).
   */
  pushGradientStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_shardlab_v1_GradientUpdate, _shardlab_v1_GradientAck__Output>;
  pushGradientStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_shardlab_v1_GradientUpdate, _shardlab_v1_GradientAck__Output>;
  
}

/**
 * Access (with a run token, --token-file / SHARDLAB_TOKEN): every call carries "authorization: Bearer
 * <token>" except GetStatus, which answers a caller without it only what a health check needs; NextStep,
 * PushGradient, PushGradientStream and AllReduce also carry the worker credential Join issued (JoinReply.credential). Checked
 * before the request is read: UNAUTHENTICATED without the token, PERMISSION_DENIED with another worker's
 * credential; RESOURCE_EXHAUSTED for a request over its method's size limit (derived from the model).
 */
export interface CoordinatorHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Element-wise sum over all workers of a small vector, within one step (e.g. SyncBN batch
   * statistics), with --collective relay. Answers once every worker has sent the same (step, tag).
   * Same statuses as PushGradient.
   */
  AllReduce: grpc.handleUnaryCall<_shardlab_v1_AllReduceRequest__Output, _shardlab_v1_AllReduceReply>;
  
  /**
   * What a trainer needs before it joins: the feed and the dataset to load. Needs no membership.
   */
  GetDataset: grpc.handleUnaryCall<_shardlab_v1_DatasetRequest__Output, _shardlab_v1_DatasetDescription>;
  
  /**
   * A snapshot of the run, for observers (tests, dashboards). Needs no membership. Without the token:
   * state, step, steps, workers and joined only (no run id, no error text, no losses).
   */
  GetStatus: grpc.handleUnaryCall<_shardlab_v1_StatusRequest__Output, _shardlab_v1_RunStatus>;
  
  /**
   * A trainer announces itself. FAILED_PRECONDITION when protocol versions differ or (feed "ids") its
   * data fingerprint differs from the coordinator's, naming what differs; INVALID_ARGUMENT for a
   * malformed request, RESOURCE_EXHAUSTED when every worker slot is taken.
   */
  Join: grpc.handleUnaryCall<_shardlab_v1_JoinRequest__Output, _shardlab_v1_JoinReply>;
  
  /**
   * Long poll: answers once the assignment for `step` exists (or the run ended). A trainer asks for its
   * first step here; every later assignment comes with the answer to its PushGradient.
   */
  NextStep: grpc.handleUnaryCall<_shardlab_v1_NextStepRequest__Output, _shardlab_v1_StepAssignment>;
  
  /**
   * One worker's gradient for one step, answered once every worker's is in, with the next step's
   * assignment (so a step costs one call, not a PushGradient and a NextStep). PERMISSION_DENIED for a worker that never joined,
   * FAILED_PRECONDITION for the wrong step, INVALID_ARGUMENT for a wrong length or NaN/Inf,
   * ALREADY_EXISTS for a second gradient for the same step.
   */
  PushGradient: grpc.handleUnaryCall<_shardlab_v1_GradientUpdate__Output, _shardlab_v1_GradientAck>;
  
  /**
   * PushGradient's requests and answers on one stream, for the whole run: each GradientUpdate is answered, in
   * order, by the GradientAck PushGradient would return for it, and a refusal ends the stream with PushGradient's
   * status. Trainers push this way from their first step on: a unary call costs ~0.7 ms of client CPU and
   * ~0.35 ms of server CPU in grpc-js, a message on an open stream ~0.1 ms each. The worker credential is
   * checked when the stream opens and again with every later message (a worker slot refilled meanwhile, with
   * --lost-worker replace, refuses its old holder).
   */
  PushGradientStream: grpc.handleBidiStreamingCall<_shardlab_v1_GradientUpdate__Output, _shardlab_v1_GradientAck>;
  
}

export interface CoordinatorDefinition extends grpc.ServiceDefinition {
  AllReduce: MethodDefinition<_shardlab_v1_AllReduceRequest, _shardlab_v1_AllReduceReply, _shardlab_v1_AllReduceRequest__Output, _shardlab_v1_AllReduceReply__Output>
  GetDataset: MethodDefinition<_shardlab_v1_DatasetRequest, _shardlab_v1_DatasetDescription, _shardlab_v1_DatasetRequest__Output, _shardlab_v1_DatasetDescription__Output>
  GetStatus: MethodDefinition<_shardlab_v1_StatusRequest, _shardlab_v1_RunStatus, _shardlab_v1_StatusRequest__Output, _shardlab_v1_RunStatus__Output>
  Join: MethodDefinition<_shardlab_v1_JoinRequest, _shardlab_v1_JoinReply, _shardlab_v1_JoinRequest__Output, _shardlab_v1_JoinReply__Output>
  NextStep: MethodDefinition<_shardlab_v1_NextStepRequest, _shardlab_v1_StepAssignment, _shardlab_v1_NextStepRequest__Output, _shardlab_v1_StepAssignment__Output>
  PushGradient: MethodDefinition<_shardlab_v1_GradientUpdate, _shardlab_v1_GradientAck, _shardlab_v1_GradientUpdate__Output, _shardlab_v1_GradientAck__Output>
  PushGradientStream: MethodDefinition<_shardlab_v1_GradientUpdate, _shardlab_v1_GradientAck, _shardlab_v1_GradientUpdate__Output, _shardlab_v1_GradientAck__Output>
}
