import type { DatasetSpec } from '@shardlab/data';
import type { ExperimentConfig } from './config';
import { datasetSpecOf } from './prepare';

/** The training data as the wire carries it (shardlab.v1.DatasetSpec): every field present, `classes` empty for all. */
export interface WireDatasetSpec {
  dataset: string;
  classes: number[];
  seed: number;
  samples: number;
  testSamples: number;
  features: number;
  numClasses: number;
}

export function wireDatasetSpec(config: ExperimentConfig): WireDatasetSpec {
  const s = datasetSpecOf(config);
  return {
    dataset: s.dataset,
    classes: s.classes ? [...s.classes] : [],
    seed: s.seed,
    samples: s.samples!,
    testSamples: s.testSamples!,
    features: s.features!,
    numClasses: s.numClasses!,
  };
}

/** What a trainer loads from the coordinator's description: the same DatasetSpec the coordinator loaded. */
export function datasetSpecFromWire(w: WireDatasetSpec): DatasetSpec {
  return {
    dataset: w.dataset,
    classes: w.classes.length > 0 ? [...w.classes] : undefined,
    seed: w.seed,
    samples: w.samples,
    testSamples: w.testSamples,
    features: w.features,
    numClasses: w.numClasses,
  };
}
