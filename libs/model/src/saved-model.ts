import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { layerName, layerSizes, paramCount, shapeSize, validateSpec, type ModelSpec } from './spec';

const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

/**
 * Writes dir/model.json + dir/weights.bin in the TensorFlow.js layers format: a tf.sequential of dense
 * layers (ReLU hidden, linear output producing logits, exactly like Mlp) carrying `params`.
 * The files go through a custom IOHandler because tfjs-node's file:// handler is not available.
 */
export async function saveLayersModel(spec: ModelSpec, params: Float32Array, dir: string): Promise<void> {
  validateSpec(spec);
  const expected = paramCount(spec);
  if (params.length !== expected) throw new Error(`saveLayersModel: expected ${expected} params, got ${params.length}`);

  const sizes = layerSizes(spec);
  const model = tf.sequential({ name: 'shardlab_mlp' });
  const weights: tf.Tensor[] = [];
  try {
    for (let i = 0; i + 1 < sizes.length; i++) {
      const hidden = i < spec.hidden.length;
      model.add(
        tf.layers.dense({
          name: layerName(i, spec.hidden.length),
          units: sizes[i + 1]!,
          activation: hidden ? 'relu' : 'linear',
          ...(i === 0 ? { inputShape: [spec.inputSize] } : {}),
        }),
      );
    }
    // model.getWeights() order is per layer kernel then bias, which is the canonical order.
    let offset = 0;
    for (const w of model.getWeights()) {
      weights.push(tf.tensor(params.slice(offset, (offset += w.size)), w.shape));
    }
    model.setWeights(weights);

    await fsp.mkdir(dir, { recursive: true });
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
        const modelJson: tf.io.ModelJSON = {
          modelTopology: artifacts.modelTopology!,
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs! }],
        };
        // Weights first: a model.json on disk then always has its weights next to it.
        await fsp.writeFile(path.join(dir, WEIGHTS_FILE), new Uint8Array(weightData));
        await fsp.writeFile(path.join(dir, MODEL_FILE), JSON.stringify(modelJson));
        return {
          modelArtifactsInfo: {
            dateSaved: new Date(),
            modelTopologyType: 'JSON',
            weightDataBytes: weightData.byteLength,
          },
        };
      }),
    );
  } finally {
    for (const w of weights) w.dispose();
    model.dispose();
  }
}

async function readWeightBuffers(dir: string, manifest: tf.io.WeightsManifestConfig): Promise<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    for (const p of group.paths) parts.push(await fsp.readFile(path.join(dir, p)));
  }
  // Copy into one fresh, aligned ArrayBuffer: Node Buffers may sit at odd offsets in a shared pool.
  const out = new Uint8Array(parts.reduce((t, p) => t + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) out.set(p, (offset += p.byteLength) - p.byteLength);
  return out.buffer;
}

/**
 * An IOHandler that loads a model saved by saveLayersModel (or any layers-format directory whose
 * weight paths are relative), e.g. `tf.loadLayersModel(fileLoadHandler(dir))`.
 */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const modelJson = JSON.parse(await fsp.readFile(path.join(dir, MODEL_FILE), 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => [
        manifest.flatMap((group) => group.weights),
        await readWeightBuffers(dir, manifest),
      ]);
    },
  };
}

/** Reads a model saved by saveLayersModel back into a flat canonical parameter vector (bit-exact). */
export async function loadParams(
  dir: string,
): Promise<{ spec: Omit<ModelSpec, 'initSeed'>; params: Float32Array }> {
  const artifacts = await fileLoadHandler(dir).load!();
  const specs = artifacts.weightSpecs ?? [];
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));

  // Locate every weight by name; in the weights file they are stored back to back in manifest order.
  const byName = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const w of specs) {
    if (w.dtype !== 'float32' || w.quantization) {
      throw new Error(`loadParams: weight ${w.name} is ${w.quantization ? 'quantized' : w.dtype}, expected float32`);
    }
    const bytes = shapeSize(w.shape) * 4;
    byName.set(w.name, { shape: w.shape, values: new Float32Array(data.slice(offset, offset + bytes).buffer) });
    offset += bytes;
  }
  if (offset !== data.byteLength) throw new Error(`loadParams: weights file has ${data.byteLength} bytes, manifest needs ${offset}`);

  // Walk dense layers in the order the topology lists them; their kernel shapes give the spec.
  const topology = artifacts.modelTopology as { config?: { layers?: { class_name: string; config: { name: string } }[] } };
  const layers = (topology?.config?.layers ?? []).filter((l) => l.class_name === 'Dense').map((l) => l.config.name);
  if (layers.length === 0) throw new Error(`loadParams: no Dense layers in ${path.join(dir, MODEL_FILE)}`);
  const chunks: Float32Array[] = [];
  const sizes: number[] = [];
  for (const name of layers) {
    const kernel = byName.get(`${name}/kernel`);
    const bias = byName.get(`${name}/bias`);
    if (!kernel || !bias) throw new Error(`loadParams: layer ${name} lacks kernel or bias weights`);
    const [fanIn, fanOut] = kernel.shape as [number, number];
    if (kernel.shape.length !== 2 || bias.shape.length !== 1 || bias.shape[0] !== fanOut) {
      throw new Error(`loadParams: layer ${name} has kernel ${JSON.stringify(kernel.shape)} and bias ${JSON.stringify(bias.shape)}`);
    }
    if (sizes.length === 0) sizes.push(fanIn);
    else if (sizes[sizes.length - 1] !== fanIn) throw new Error(`loadParams: layer ${name} input ${fanIn} does not match previous output`);
    sizes.push(fanOut);
    chunks.push(kernel.values, bias.values);
  }
  const params = new Float32Array(chunks.reduce((t, c) => t + c.length, 0));
  offset = 0;
  for (const c of chunks) params.set(c, (offset += c.length) - c.length);
  return {
    spec: { kind: 'mlp', inputSize: sizes[0]!, hidden: sizes.slice(1, -1), classes: sizes[sizes.length - 1]! },
    params,
  };
}
