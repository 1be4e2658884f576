import type { ModelSpec } from '@shardlab/model';
import type { ExperimentConfig } from './config';

/** The model as the wire carries it (shardlab.v1.ModelSpec): the settings, not the derived details. */
export interface WireModelSpec {
  kind: string;
  inputSize: number;
  hidden: number[];
  classes: number;
  initSeed: number;
  /** The --norm setting, including 'sync-batch'. */
  norm: string;
}

export function wireModelSpec(config: ExperimentConfig, inputSize: number, classes: number): WireModelSpec {
  return { kind: config.model, inputSize, hidden: [...config.hidden], classes, initSeed: config.seed, norm: config.norm };
}

/**
 * What a replica builds from the wire spec; coordinator and trainers both go through here, so
 * they build the same model. SyncBN is BatchNorm whose statistics are all-reduced every step.
 */
export function modelFromWire(w: WireModelSpec): { spec: ModelSpec; syncBatchNorm: boolean } {
  if (w.kind !== 'mlp' && w.kind !== 'cnn') throw new Error(`model kind ${JSON.stringify(w.kind)} is not one this trainer knows (mlp, cnn)`);
  const norm = w.norm || 'none';
  if (!['none', 'batch', 'sync-batch', 'group', 'layer'].includes(norm)) throw new Error(`norm ${JSON.stringify(norm)} is not one this trainer knows`);
  const spec: ModelSpec = { kind: w.kind, inputSize: w.inputSize, hidden: [...w.hidden], classes: w.classes, initSeed: w.initSeed };
  if (w.kind === 'mlp') spec.norm = norm === 'sync-batch' ? 'batch' : (norm as ModelSpec['norm']);
  return { spec, syncBatchNorm: norm === 'sync-batch' };
}
