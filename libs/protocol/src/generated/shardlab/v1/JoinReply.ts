// Original file: proto/shardlab/v1/shardlab.proto

import type { ModelSpec as _shardlab_v1_ModelSpec, ModelSpec__Output as _shardlab_v1_ModelSpec__Output } from '../../shardlab/v1/ModelSpec';
import type { OptimizerSpec as _shardlab_v1_OptimizerSpec, OptimizerSpec__Output as _shardlab_v1_OptimizerSpec__Output } from '../../shardlab/v1/OptimizerSpec';
import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from '../../shardlab/v1/Tensor';

export interface JoinReply {
  'protocolVersion'?: (number);
  'runId'?: (string);
  /**
   * this trainer's index, 0 .. workers-1
   */
  'worker'?: (number);
  'workers'?: (number);
  'model'?: (_shardlab_v1_ModelSpec | null);
  'optimizer'?: (_shardlab_v1_OptimizerSpec | null);
  'steps'?: (number);
  /**
   * report a parameter checksum every this many steps
   */
  'checksumEvery'?: (number);
  /**
   * "sync-sgd" | "fedavg" | "fedprox"
   */
  'aggregation'?: (string);
  /**
   * batches per step (1 for sync-sgd)
   */
  'localSteps'?: (number);
  /**
   * fedprox: weight of the proximal term
   */
  'proxMu'?: (number | string);
  /**
   * "ids": batches carry sample ids only; "features": features and labels too
   */
  'feed'?: (string);
  /**
   * "relay" | "ring"
   */
  'collective'?: (string);
  /**
   * seconds; a ring waits this long for a neighbour before giving up
   */
  'stepTimeout'?: (number | string);
  /**
   * with a run token: this worker's credential, sent with every later call as
   */
  'credential'?: (string);
  /**
   * metadata x-shardlab-worker / x-shardlab-credential (see auth.ts)
   */
  'faults'?: (string)[];
  /**
   * naming its worker index (kill, pause, slow, drop; see libs/worker faults.ts)
   * A resumed run (--resume): start at start_step from this state instead of the initial weights.
   */
  'startStep'?: (number);
  /**
   * the parameters after step start_step - 1
   */
  'params'?: (_shardlab_v1_Tensor | null);
  /**
   * the optimizer's exported state, float64 little-endian (libs/aggregation)
   */
  'optimizerState'?: (Buffer | Uint8Array | string);
  /**
   * worker 0's buffers (BatchNorm running statistics), if the model has any
   */
  'buffers'?: (_shardlab_v1_Tensor | null);
  /**
   * How a step's contributions are combined (--combine): "mean", or a robust rule that a collective among the
   * workers computes itself (shared memory); under relay the coordinator combines and the trainers need not know.
   */
  'combine'?: (string);
  /**
   * trimmed-mean: values dropped at each end of every coordinate
   */
  'trim'?: (number);
  /**
   * multi-krum: contributions assumed poisoned
   */
  'krumF'?: (number);
  /**
   * What happens to the buffers (BatchNorm running statistics) after each step (--buffers): "broadcast" (worker 0's
   * everywhere), "average" (the mean of every worker's), "local" (each keeps its own). Relay: the coordinator's
   * answer carries the result; among trainers: the collective sums them.
   */
  'buffersRule'?: (string);
  /**
   * Among trainers with --lost-worker continue|replace: every report leaves after the all-reduce and the worker
   * keeps the step's starting state until the answer, which may be the same step again (a re-formed collective).
   */
  'elastic'?: (boolean);
}

export interface JoinReply__Output {
  'protocolVersion': (number);
  'runId': (string);
  /**
   * this trainer's index, 0 .. workers-1
   */
  'worker': (number);
  'workers': (number);
  'model': (_shardlab_v1_ModelSpec__Output | null);
  'optimizer': (_shardlab_v1_OptimizerSpec__Output | null);
  'steps': (number);
  /**
   * report a parameter checksum every this many steps
   */
  'checksumEvery': (number);
  /**
   * "sync-sgd" | "fedavg" | "fedprox"
   */
  'aggregation': (string);
  /**
   * batches per step (1 for sync-sgd)
   */
  'localSteps': (number);
  /**
   * fedprox: weight of the proximal term
   */
  'proxMu': (number);
  /**
   * "ids": batches carry sample ids only; "features": features and labels too
   */
  'feed': (string);
  /**
   * "relay" | "ring"
   */
  'collective': (string);
  /**
   * seconds; a ring waits this long for a neighbour before giving up
   */
  'stepTimeout': (number);
  /**
   * with a run token: this worker's credential, sent with every later call as
   */
  'credential': (string);
  /**
   * metadata x-shardlab-worker / x-shardlab-credential (see auth.ts)
   */
  'faults': (string)[];
  /**
   * naming its worker index (kill, pause, slow, drop; see libs/worker faults.ts)
   * A resumed run (--resume): start at start_step from this state instead of the initial weights.
   */
  'startStep': (number);
  /**
   * the parameters after step start_step - 1
   */
  'params': (_shardlab_v1_Tensor__Output | null);
  /**
   * the optimizer's exported state, float64 little-endian (libs/aggregation)
   */
  'optimizerState': (Buffer);
  /**
   * worker 0's buffers (BatchNorm running statistics), if the model has any
   */
  'buffers': (_shardlab_v1_Tensor__Output | null);
  /**
   * How a step's contributions are combined (--combine): "mean", or a robust rule that a collective among the
   * workers computes itself (shared memory); under relay the coordinator combines and the trainers need not know.
   */
  'combine': (string);
  /**
   * trimmed-mean: values dropped at each end of every coordinate
   */
  'trim': (number);
  /**
   * multi-krum: contributions assumed poisoned
   */
  'krumF': (number);
  /**
   * What happens to the buffers (BatchNorm running statistics) after each step (--buffers): "broadcast" (worker 0's
   * everywhere), "average" (the mean of every worker's), "local" (each keeps its own). Relay: the coordinator's
   * answer carries the result; among trainers: the collective sums them.
   */
  'buffersRule': (string);
  /**
   * Among trainers with --lost-worker continue|replace: every report leaves after the all-reduce and the worker
   * keeps the step's starting state until the answer, which may be the same step again (a re-formed collective).
   */
  'elastic': (boolean);
}
