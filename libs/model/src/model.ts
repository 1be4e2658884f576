import { Cnn } from './cnn';
import { Mlp } from './mlp';
import { resolveSpec, type ModelSpec } from './spec';
import type { Model } from './types';

/** The model for a spec of any kind: an Mlp for 'mlp', a Cnn for 'cnn'. Call after initBackend. */
export function createModel(spec: ModelSpec): Model {
  return resolveSpec(spec).kind === 'cnn' ? new Cnn(spec) : new Mlp(spec);
}
