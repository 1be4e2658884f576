import { createStrategy, loadDataset, type Dataset, type Strategy } from '@shardlab/data';
import type { ExperimentConfig } from './config';

export interface PreparedData {
  train: Dataset;
  test: Dataset;
  strategy: Strategy;
  description: string;
}

/** Loads the data and builds the batch plan. Throws DataError (one line, names the setting) on bad input. */
export function prepareData(config: ExperimentConfig): PreparedData {
  const { train, test, description } = loadDataset({
    dataset: config.dataset,
    classes: config.classes ?? undefined,
    seed: config.seed,
    samples: config.samples,
    testSamples: config.testSamples,
    features: config.features,
    numClasses: config.numClasses,
  });
  const strategy = createStrategy(config.strategy, {
    labels: train.labels,
    numClasses: train.numClasses,
    workers: config.workers,
    batchSize: config.batchSize,
    seed: config.seed,
    order: config.order,
    runLength: config.runLength,
    classesPerNode: config.classesPerNode,
    alpha: config.alpha,
    shardsPerNode: config.shardsPerNode,
  });
  return { train, test, strategy, description };
}
