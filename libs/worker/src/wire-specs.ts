import type { DatasetSpec } from '@shardlab/data';
import { layersSpec, validateSpec, type LayersSource, type ModelSpec } from '@shardlab/model';
import { decodeTensor, encodeTensor, type DatasetSpec__Output, type JoinReply__Output, type ModelSpec__Output } from '@shardlab/protocol';
import type { Replica } from './replica';

/*
 * The model and the training data as the coordinator describes them on the wire (shardlab.v1.ModelSpec,
 * DatasetSpec), and what a worker builds from them. The coordinator's side (from an ExperimentConfig) is in
 * @shardlab/experiment; both sides build through here, so they build the same thing.
 */

/** The model as the wire carries it (the generated shardlab.v1.ModelSpec): the settings, not the derived details; `norm` is the --norm setting, including 'sync-batch'. */
export type WireModelSpec = ModelSpec__Output;

/**
 * What a replica builds from the wire spec; coordinator and trainers both go through here, so
 * they build the same model. SyncBN is BatchNorm whose statistics are all-reduced every step.
 */
export function modelFromWire(w: WireModelSpec): { spec: ModelSpec; syncBatchNorm: boolean } {
  if (w.kind === 'layers') return { spec: layersFromWire(w), syncBatchNorm: false };
  if (w.kind !== 'mlp' && w.kind !== 'cnn') throw new Error(`model kind ${JSON.stringify(w.kind)} is not one this trainer knows (mlp, cnn, layers)`);
  const norm = w.norm || 'none';
  if (!['none', 'batch', 'sync-batch', 'group', 'layer'].includes(norm)) throw new Error(`norm ${JSON.stringify(norm)} is not one this trainer knows`);
  const spec: ModelSpec = { kind: w.kind, inputSize: w.inputSize, hidden: [...w.hidden], classes: w.classes, initSeed: w.initSeed };
  if (w.kind === 'mlp') spec.norm = norm === 'sync-batch' ? 'batch' : (norm as ModelSpec['norm']);
  return { spec, syncBatchNorm: norm === 'sync-batch' };
}

/** A loaded TensorFlow.js Layers model on the wire (what the coordinator read from --model layers:<dir>). */
export function layersToWire(source: LayersSource): NonNullable<ModelSpec__Output['layers']> {
  return {
    topology: source.topology,
    params: source.params.map(({ name, shape }) => ({ name, shape: [...shape] })),
    buffers: source.buffers.map(({ name, shape }) => ({ name, shape: [...shape] })),
    initialParams: encodeTensor(source.initialParams, [source.initialParams.length]),
    initialBuffers: encodeTensor(source.initialBuffers, [source.initialBuffers.length]),
    inputShape: [...source.inputShape],
  };
}

function layersFromWire(w: WireModelSpec): ModelSpec {
  const l = w.layers;
  if (!l || !l.topology) throw new Error('layers: a model of kind "layers" without its topology');
  const size = (shapes: { shape: number[] }[]) => shapes.reduce((t, p) => t + p.shape.reduce((a, b) => a * b, 1), 0);
  const source: LayersSource = {
    topology: l.topology,
    params: l.params.map(({ name, shape }) => ({ name, shape: [...shape] })),
    buffers: l.buffers.map(({ name, shape }) => ({ name, shape: [...shape] })),
    initialParams: decodeTensor(l.initialParams, { length: size(l.params), field: 'layers.initial_params' }),
    initialBuffers: l.buffers.length === 0 ? new Float32Array(0) : decodeTensor(l.initialBuffers, { length: size(l.buffers), field: 'layers.initial_buffers' }),
    inputShape: [...l.inputShape],
    classes: w.classes,
  };
  const spec = layersSpec(source, w.initSeed);
  if (spec.inputSize !== w.inputSize) throw new Error(`layers: the input shape ${JSON.stringify(l.inputShape)} holds ${spec.inputSize} features, but input_size is ${w.inputSize}`);
  validateSpec(spec);
  return spec;
}

/** The training data as the wire carries it (the generated shardlab.v1.DatasetSpec): every field present, `classes` empty for all. */
export type WireDatasetSpec = DatasetSpec__Output;

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
    deformation: w.deformation,
  };
}

/**
 * A start after step 0 (a resumed run, a replacement): the replica takes the parameters and optimizer state the
 * join reply carries, and the model worker 0's buffers, bit for bit. Throws naming the field that does not fit.
 */
export function restoreFromWire(
  reply: Pick<JoinReply__Output, 'params' | 'optimizerState' | 'buffers'>,
  replica: Replica,
  model: { readonly bufferSize: number; setBuffers(flat: Float32Array): void },
): void {
  if (!reply.params) throw new Error('params: missing for a start after step 0');
  const params = decodeTensor(reply.params, { length: replica.params.length, field: 'params' });
  const state = reply.optimizerState;
  if (state.length % 8 !== 0) throw new Error(`optimizer_state: ${state.length} bytes is not a whole number of float64 values`);
  const optimizerState = new Float64Array(state.length / 8);
  new Uint8Array(optimizerState.buffer).set(state);
  replica.restore(params, optimizerState);
  if (reply.buffers && model.bufferSize > 0) model.setBuffers(decodeTensor(reply.buffers, { length: model.bufferSize, field: 'buffers' }));
}
