import { ConfigError } from '@shardlab/options';
import { validateSpec } from '@shardlab/model';
import { modelFromWire, type WireModelSpec } from '@shardlab/worker';
import type { ExperimentConfig } from './config';

/** The model an experiment describes, as the wire carries it to trainers (decoded by @shardlab/worker). */
export function wireModelSpec(config: ExperimentConfig, inputSize: number, classes: number): WireModelSpec {
  return { kind: config.model, inputSize, hidden: [...config.hidden], classes, initSeed: config.seed, norm: config.norm };
}


/**
 * Refuses a model the data cannot feed before the run writes anything, naming the settings at fault:
 * the cnn reads square images, so `--model cnn --features 32` (or a dataset of 32 features) cannot work.
 */
export function checkModelFitsData(config: ExperimentConfig, inputSize: number, classes: number, dataName: string): void {
  try {
    validateSpec(modelFromWire(wireModelSpec(config, inputSize, classes)).spec);
  } catch (err) {
    const why = (err as Error).message;
    const source = config.dataset === 'synthetic' ? `--features ${inputSize}` : `--dataset ${config.dataset} (${inputSize} features per sample)`;
    if (config.model === 'cnn' && !Number.isInteger(Math.sqrt(inputSize))) {
      throw new ConfigError(`--model cnn reads square images, but ${source} is not a square number; use --model mlp, or data with a square number of features (784 = 28 x 28)`);
    }
    throw new ConfigError(`--model ${config.model} does not fit ${dataName} (${source}): ${why}`);
  }
}
