import type { DataFingerprint } from '@shardlab/data';
import type { CollectiveName } from '@shardlab/collective';
import type { WireDatasetSpec, WireModelSpec } from '@shardlab/worker';
import type { FeedName } from './config';

/*
 * The requests and replies of the step engine (TrainingSession), as plain objects: the shapes the
 * coordinator app passes between grpc-js and the engine. Field names and meanings are those of
 * proto/shardlab/v1/shardlab.proto (the generated types in @shardlab/protocol describe the wire);
 * these say what the engine needs and returns, with the engine's own enums (FeedName, CollectiveName).
 */

export interface TensorMessage {
  shape: number[];
  data: Buffer;
}

export interface JoinRequestMessage {
  protocolVersion: number;
  name: string;
  backend: string;
  /** The trainer's copy of the training set; required with feed "ids". */
  data?: DataFingerprint | null;
  /** host:port of the trainer's Peer service; required when the trainers average among themselves (ring, halving-doubling). */
  peerAddress?: string;
}

export interface DatasetDescriptionMessage {
  feed: FeedName;
  dataset: WireDatasetSpec;
  collective: CollectiveName;
}

export interface JoinReplyMessage {
  protocolVersion: number;
  runId: string;
  worker: number;
  workers: number;
  model: WireModelSpec;
  optimizer: { name: string; lr: number; momentum: number; beta1: number; beta2: number; epsilon: number };
  steps: number;
  checksumEvery: number;
  aggregation: string;
  localSteps: number;
  proxMu: number;
  feed: FeedName;
  collective: CollectiveName;
  stepTimeout: number;
  faults: string[];
  /** Resumed run: the first step, and the state every replica starts from. */
  startStep?: number;
  params?: TensorMessage;
  optimizerState?: Buffer;
  buffers?: TensorMessage | null;
}

/** Feed "ids": ids only; feed "features": the features and labels too. */
export interface BatchMessage {
  features: TensorMessage | null;
  labels: number[];
  ids: number[];
}

export interface StepAssignmentMessage {
  step: number;
  done: boolean;
  /** One batch per local step: exactly one under sync-sgd. */
  batches: BatchMessage[];
  reportChecksum: boolean;
  stopReason: string;
  /** Ring, step 0: every worker's Peer address, by worker index. */
  peers: string[];
  /** Ring: send the full gradient with this step's report (gradient metrics). */
  reportGradient: boolean;
  /** Ring, worker 0: send the parameters after this step (evaluation, the final model). */
  reportParams: boolean;
}

export interface GradientMessage {
  runId: string;
  worker: number;
  step: number;
  samples: number;
  loss: number;
  /** Relay: always; among trainers: on gradient-metrics steps. */
  gradient?: { shape?: number[]; data?: Uint8Array } | null;
  paramChecksum: string;
  computeMs: number;
  buffers?: { shape?: number[]; data?: Uint8Array } | null;
  /** Ring: the L2 norm of the gradient (which is sent only on gradient-metrics steps). */
  gradNorm?: number;
  reduceMs?: number;
  /** Ring: the parameters after this step, when reportParams asked. */
  params?: { shape?: number[]; data?: Uint8Array } | null;
  /** The worker cannot finish this step; the run stops with this reason. */
  error?: string;
}

export interface AllReduceMessage {
  runId: string;
  worker: number;
  step: number;
  tag: number;
  values: number[];
}

export interface RunStatusMessage {
  runId: string;
  state: SessionState;
  step: number;
  steps: number;
  workers: number;
  joined: number;
  strategy: string;
  lastLoss: number;
  testAccuracy: number;
  error: string;
  contributions: number[];
}

export type SessionState = 'waiting' | 'running' | 'finished' | 'failed';
