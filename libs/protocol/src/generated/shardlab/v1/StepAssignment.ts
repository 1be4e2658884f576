// Original file: proto/shardlab/v1/shardlab.proto

import type { Batch as _shardlab_v1_Batch, Batch__Output as _shardlab_v1_Batch__Output } from '../../shardlab/v1/Batch';

export interface StepAssignment {
  'step'?: (number);
  /**
   * the run is over: leave
   */
  'done'?: (boolean);
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
  /**
   * ring, step 0: every worker's Peer address, by worker index
   */
  'peers'?: (string)[];
  /**
   * ring: send the full gradient with this step's report (gradient metrics)
   */
  'reportGradient'?: (boolean);
  /**
   * ring, worker 0: send the parameters after this step (evaluation)
   */
  'reportParams'?: (boolean);
  /**
   * with `peers`, in a run with a token: SHA-256 (hex) of every worker's
   */
  'peerVerifiers'?: (string)[];
  /**
   * credential, by worker index: a trainer admits a Peer subscription only from the
   * worker whose credential hashes to it (a token holder cannot pose as a peer)
   */
  'reportState'?: (boolean);
  /**
   * too (a checkpoint: the coordinator keeps no replica of its own then)
   * Among trainers with --lost-worker continue|replace, when the collective is re-formed (a worker lost or
   * replaced): `peers` (and `peer_verifiers`) are then by rank in the new collective, `peer_workers` the worker
   * index at each rank; `epoch` counts the re-formings (0: the first collective), and peers subscribe for it.
   */
  'peerWorkers'?: (number)[];
  'epoch'?: (number);
}

export interface StepAssignment__Output {
  'step': (number);
  /**
   * the run is over: leave
   */
  'done': (boolean);
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
  /**
   * ring, step 0: every worker's Peer address, by worker index
   */
  'peers': (string)[];
  /**
   * ring: send the full gradient with this step's report (gradient metrics)
   */
  'reportGradient': (boolean);
  /**
   * ring, worker 0: send the parameters after this step (evaluation)
   */
  'reportParams': (boolean);
  /**
   * with `peers`, in a run with a token: SHA-256 (hex) of every worker's
   */
  'peerVerifiers': (string)[];
  /**
   * credential, by worker index: a trainer admits a Peer subscription only from the
   * worker whose credential hashes to it (a token holder cannot pose as a peer)
   */
  'reportState': (boolean);
  /**
   * too (a checkpoint: the coordinator keeps no replica of its own then)
   * Among trainers with --lost-worker continue|replace, when the collective is re-formed (a worker lost or
   * replaced): `peers` (and `peer_verifiers`) are then by rank in the new collective, `peer_workers` the worker
   * index at each rank; `epoch` counts the re-formings (0: the first collective), and peers subscribe for it.
   */
  'peerWorkers': (number)[];
  'epoch': (number);
}
