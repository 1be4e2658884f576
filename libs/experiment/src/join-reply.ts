import { PROTOCOL_VERSION, encodeTensor, type JoinReply__Output } from '@shardlab/protocol';
import type { WireModelSpec } from '@shardlab/worker';
import { elasticAmongTrainers, type RunConfig } from './config';

/** The state a trainer starts from when it does not start at step 0 (a resumed run, or a replacement). */
export interface StartState {
  params: Float32Array;
  optimizerState: Float64Array;
  buffers: Float32Array | null;
}

/**
 * What a trainer learns at Join: its worker index, the model, the optimizer and the run's settings, and for a
 * start after step 0 the state every replica is at (the coordinator's parameters, optimizer state, buffers).
 */
export function joinReply(opts: {
  config: RunConfig;
  runId: string;
  worker: number;
  model: WireModelSpec;
  startStep: number;
  /** How many trainers held this slot before (a replacement does not inherit the faults injected into the one it replaces). */
  generation: number;
  /** Read only when startStep > 0. */
  state: () => StartState;
}): JoinReply__Output {
  const { config } = opts;
  const optimizer = { name: config.optimizer, lr: config.lr, momentum: config.momentum, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
  const reply: JoinReply__Output = {
    protocolVersion: PROTOCOL_VERSION,
    runId: opts.runId,
    worker: opts.worker,
    workers: config.workers,
    model: opts.model,
    optimizer,
    steps: config.steps,
    checksumEvery: config.checksumEvery,
    aggregation: config.aggregation,
    localSteps: config.localSteps,
    proxMu: config.proxMu,
    feed: config.feed,
    collective: config.collective,
    stepTimeout: config.stepTimeout,
    combine: config.combine,
    trim: config.trim,
    krumF: config.krumF,
    buffersRule: config.buffers,
    elastic: elasticAmongTrainers(config),
    faults: opts.generation > 0 ? [] : config.faults,
    // The coordinator app fills it in when the run has a token (a credential is the edge's business).
    credential: '',
    startStep: 0,
    params: null,
    optimizerState: Buffer.alloc(0),
    buffers: null,
  };
  if (opts.startStep === 0) return reply;
  const { params, optimizerState, buffers } = opts.state();
  return {
    ...reply,
    startStep: opts.startStep,
    params: encodeTensor(params, [params.length]),
    optimizerState: Buffer.from(optimizerState.buffer, optimizerState.byteOffset, optimizerState.byteLength),
    buffers: buffers ? encodeTensor(buffers, [buffers.length]) : null,
  };
}
