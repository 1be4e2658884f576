import { Cnn } from './cnn';
import { LayersModel } from './layers';
import { Mlp } from './mlp';
import { resolveSpec, type ModelSpec } from './spec';
import type { Model } from './types';

/**
 * The model for a spec of any kind: an Mlp for 'mlp', a Cnn for 'cnn', a LayersModel (built and given its trial
 * step) for 'layers'. Call after initBackend.
 */
export async function createModel(spec: ModelSpec): Promise<Model> {
  if (spec.kind === 'layers') return LayersModel.build(spec);
  return resolveSpec(spec).kind === 'cnn' ? new Cnn(spec) : new Mlp(spec);
}
