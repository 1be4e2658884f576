import type { WireModelSpec } from '@shardlab/worker';
import type { ExperimentConfig } from './config';

/** The model an experiment describes, as the wire carries it to trainers (decoded by @shardlab/worker). */
export function wireModelSpec(config: ExperimentConfig, inputSize: number, classes: number): WireModelSpec {
  return { kind: config.model, inputSize, hidden: [...config.hidden], classes, initSeed: config.seed, norm: config.norm };
}

