import type { Dataset, Strategy } from '@shardlab/data';
import { encodeTensor } from '@shardlab/protocol';
import type { ExperimentConfig } from './config';
import type { BatchMessage } from './messages';

/**
 * What worker `w` trains on at step `t`, as the wire carries it: one batch per local step (exactly one under
 * sync-sgd; under local SGD step t is round t, whose local steps take the strategy's steps t*H .. t*H+H-1).
 * Feed "ids": sample ids only (the trainer holds the data); feed "features": the features and labels too.
 */
export function planBatches(t: number, w: number, config: ExperimentConfig, strategy: Strategy, train: Dataset): BatchMessage[] {
  const batches: BatchMessage[] = [];
  for (let h = 0; h < config.localSteps; h++) {
    const ids = strategy.batch(t * config.localSteps + h, w);
    if (config.feed === 'ids') {
      batches.push({ features: null, labels: [], ids: Array.from(ids) });
      continue;
    }
    const labels = new Array<number>(ids.length);
    for (let i = 0; i < ids.length; i++) labels[i] = train.labels[ids[i]!]!;
    batches.push({ features: encodeTensor(train.features(ids), [ids.length, train.numFeatures]), labels, ids: Array.from(ids) });
  }
  return batches;
}
