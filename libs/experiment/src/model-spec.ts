import { ConfigError } from '@shardlab/options';
import { LayersModelError, createModel, layersSpec, loadLayersSource, shapeSize, validateSpec, type LayersSource } from '@shardlab/model';
import { layersToWire, modelFromWire, type WireModelSpec } from '@shardlab/worker';
import { modelDir, type ExperimentConfig } from './config';

/** The model an experiment describes, as the wire carries it to trainers (decoded by @shardlab/worker). */
export function wireModelSpec(config: ExperimentConfig, inputSize: number, classes: number, layers?: LayersSource): WireModelSpec {
  if (modelDir(config.model)) {
    if (!layers) throw new Error(`wireModelSpec: --model ${config.model} was not loaded (loadModelOf)`);
    // The model's own sizes: checkModelFitsData refuses data that disagrees.
    return { kind: 'layers', inputSize: shapeSize(layers.inputShape), hidden: [], classes: layers.classes, initSeed: config.seed, norm: 'none', layers: layersToWire(layers) };
  }
  return { kind: config.model, inputSize, hidden: [...config.hidden], classes, initSeed: config.seed, norm: config.norm, layers: null };
}

/** The loaded model of --model layers:<dir>, refused with a ConfigError naming the file and what is wrong; undefined for a built-in kind. */
export async function loadModelOf(config: ExperimentConfig): Promise<LayersSource | undefined> {
  const dir = modelDir(config.model);
  if (!dir) return undefined;
  try {
    const source = await loadLayersSource(dir);
    // The trial step on this process's backend, before the run directory holds anything.
    (await createModel(layersSpec(source, config.seed))).dispose();
    return source;
  } catch (err) {
    if (err instanceof LayersModelError) throw new ConfigError(`--model: ${err.message}`);
    throw err;
  }
}


/**
 * Refuses a model the data cannot feed before the run writes anything, naming the settings at fault:
 * the cnn reads square images, so `--model cnn --features 32` (or a dataset of 32 features) cannot work.
 */
export function checkModelFitsData(config: ExperimentConfig, inputSize: number, classes: number, dataName: string, layers?: LayersSource): void {
  if (layers) {
    const features = shapeSize(layers.inputShape);
    if (features !== inputSize) {
      throw new ConfigError(`--model ${config.model} reads ${features} features per sample (input shape ${JSON.stringify(layers.inputShape)}), but ${dataName} has ${inputSize}`);
    }
    if (layers.classes !== classes) throw new ConfigError(`--model ${config.model} has ${layers.classes} outputs, but ${dataName} has ${classes} classes`);
    return;
  }
  try {
    validateSpec(modelFromWire(wireModelSpec(config, inputSize, classes)).spec);
  } catch (err) {
    const why = (err as Error).message;
    const source = config.dataset === 'synthetic' ? `--features ${inputSize}` : `--dataset ${config.dataset} (${inputSize} features per sample)`;
    if (config.model === 'cnn' && !Number.isInteger(Math.sqrt(inputSize))) {
      throw new ConfigError(`--model cnn reads square images, but ${source} is not a square number; use --model mlp, or data with a square number of features (784 = 28 x 28)`);
    }
    throw new ConfigError(`--model ${config.model} does not fit ${dataName} (${source}): ${why}`);
  }
}
