import { createStrategy, loadDataset, type Dataset, type DatasetSpec, type Strategy } from '@shardlab/data';
import type { ExperimentConfig } from './config';

export interface PreparedData {
  train: Dataset;
  test: Dataset;
  strategy: Strategy;
  description: string;
}

/** The training data an experiment describes: what the coordinator loads, and what it tells trainers to load (feed ids). */
export function datasetSpecOf(config: ExperimentConfig): DatasetSpec {
  return {
    dataset: config.dataset,
    classes: config.classes ?? undefined,
    seed: config.seed,
    samples: config.samples,
    testSamples: config.testSamples,
    features: config.features,
    numClasses: config.numClasses,
    deformation: config.deformation,
  };
}

/** Loads the data and builds the batch plan. Throws DataError (one line, names the setting) on bad input. */
export function prepareData(config: ExperimentConfig): PreparedData {
  const { train, test, description } = loadDataset(datasetSpecOf(config));
  return { train, test, strategy: strategyFor(config, train, config.workers), description };
}

/** The experiment's batch plan for `workers` workers (fewer than configured once some are lost). */
export function strategyFor(config: ExperimentConfig, train: Dataset, workers: number): Strategy {
  return createStrategy(config.strategy, {
    labels: train.labels,
    numClasses: train.numClasses,
    workers,
    batchSize: config.batchSize,
    seed: config.seed,
    order: config.order,
    runLength: config.runLength,
    classesPerNode: config.classesPerNode,
    alpha: config.alpha,
    shardsPerNode: config.shardsPerNode,
  });
}
