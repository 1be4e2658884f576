import type { WireDatasetSpec } from '@shardlab/worker';
import type { ExperimentConfig } from './config';
import { datasetSpecOf } from './prepare';

/** The training data an experiment describes, as the wire carries it to trainers (decoded by @shardlab/worker). */
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
    deformation: s.deformation!,
  };
}

