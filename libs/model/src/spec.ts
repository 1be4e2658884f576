/** The built-in kinds, plus 'layers': a TensorFlow.js Layers model loaded from a directory (see layers.ts). */
export type ModelKind = 'mlp' | 'cnn' | 'layers';
/** The built-in kinds, which a spec describes completely by its numbers. */
export const MODEL_KINDS: readonly ModelKind[] = Object.freeze(['mlp', 'cnn'] as const);

/**
 * A TensorFlow.js Layers model as every replica builds it: its topology and the weights its files hold. Plain data,
 * so that the spec functions below stay synchronous; LayersModel builds the network from it.
 */
export interface LayersSource {
  /** model.json's modelTopology (Keras JSON), as the file has it; trainers build the same network from it. */
  topology: string;
  /** The trainable weights (the parameters), in the network's order, by their names in the weights manifest. */
  params: ParamShape[];
  /** The non-trainable weights (buffers: BatchNorm running statistics), in the network's order. */
  buffers: ParamShape[];
  /** The weights the files hold, flat: a run starts from them. */
  initialParams: Float32Array;
  initialBuffers: Float32Array;
  /** One sample's input shape without the batch dimension ([784], [28, 28, 1]); features arrive flat and are reshaped. */
  inputShape: number[];
  /** The output's width: the number of classes. */
  classes: number;
}

/** Normalisation after each hidden dense layer of an MLP (before its ReLU). */
export type NormKind = 'none' | 'batch' | 'group' | 'layer';
export const NORM_KINDS: readonly NormKind[] = Object.freeze(['none', 'batch', 'group', 'layer'] as const);

export interface ModelSpec {
  /**
   * 'mlp': dense ReLU layers. 'cnn': `filters.length` stages of [kernelSize x kernelSize conv, stride 1,
   * 'same' padding] + ReLU + [2x2 max-pool, stride 2, 'valid'], then flatten, then the dense layers of
   * `hidden`, then the output layer. Both end in linear logits with softmax cross-entropy.
   */
  kind: ModelKind;
  /** Features per sample, always a flat row-major vector (for 'cnn' the H*W*C pixels of an NHWC image). */
  inputSize: number;
  /** Widths of the ReLU hidden dense layers (for 'cnn': those after the conv stack); empty means none. */
  hidden: number[];
  classes: number;
  initSeed: number;
  /** 'cnn' only: [height, width, channels]. Default: a square single-channel image, e.g. [28, 28, 1] for 784. */
  inputShape?: [number, number, number];
  /** 'cnn' only: output channels of each conv stage. Default [8, 16]. */
  filters?: number[];
  /** 'cnn' only: side of the square conv kernels. Default 5. */
  kernelSize?: number;
  /**
   * 'mlp' only: normalisation after every hidden dense layer, before its ReLU. Default 'none'.
   * 'batch' has learnable gamma/beta (parameters) and running mean/variance (buffers, see bufferShapes);
   * 'group' and 'layer' have gamma/beta only. 'layer' is 'group' with a single group.
   */
  norm?: NormKind;
  /** norm 'group' only: groups of contiguous features per hidden layer; must divide every width. Default 4. */
  groups?: number;
  /** 'layers' only: the loaded model (inputSize and classes are its input size and output width; hidden is empty). */
  layers?: LayersSource;
}

/** Defaults of the optional fields. */
export const DEFAULT_CNN_FILTERS: readonly number[] = Object.freeze([8, 16]);
export const DEFAULT_KERNEL_SIZE = 5;
export const DEFAULT_GROUPS = 4;
/** Added to the variance before the square root, for every norm (PyTorch's default). */
export const NORM_EPSILON = 1e-5;
/** PyTorch-style running-statistics momentum: running = (1 - m) * running + m * batch. */
export const BN_MOMENTUM = 0.1;

/** One parameter tensor; arrays of these are always in canonical order. */
export interface ParamShape {
  name: string;
  shape: number[];
}

/** Name of the dense layer `index` (0-based) of a network with `hiddenCount` hidden layers. */
export function layerName(index: number, hiddenCount: number): string {
  return index === hiddenCount ? 'output' : `dense_${index + 1}`;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Shape of one conv stage of a CNN: input [h, w, c] -> conv -> [h, w, filters] -> pool -> [outH, outW, filters]. */
export interface ConvStage {
  inH: number;
  inW: number;
  inC: number;
  filters: number;
  outH: number;
  outW: number;
}

/** A spec with every default filled in, as the models use it. */
export interface ResolvedSpec {
  kind: ModelKind;
  inputSize: number;
  hidden: number[];
  classes: number;
  initSeed: number;
  norm: NormKind;
  /** Groups per hidden layer (1 for 'layer', 0 when there is no group/layer norm). */
  groups: number;
  /** 'cnn' only (empty for 'mlp'). */
  convStages: ConvStage[];
  kernelSize: number;
  inputShape: [number, number, number] | null;
  /** Width of the input of the first dense layer: inputSize for 'mlp', flattened conv output for 'cnn'. */
  denseInput: number;
}

/** Throws a descriptive Error for a spec that cannot describe a network. */
export function validateSpec(spec: ModelSpec): void {
  if (spec.kind === 'layers') return void layersOf(spec);
  resolveSpec(spec);
}

/** The loaded model of a 'layers' spec, checked against the spec's sizes. */
export function layersOf(spec: ModelSpec): LayersSource {
  const l = spec.layers;
  if (spec.kind !== 'layers' || !l) throw new Error(`a '${String(spec.kind)}' spec has no loaded layers model`);
  if (l.classes !== spec.classes) throw new Error(`the layers model has ${l.classes} outputs, but classes is ${spec.classes}`);
  if (shapeSize(l.inputShape) !== spec.inputSize) throw new Error(`the layers model reads ${shapeSize(l.inputShape)} features, but inputSize is ${spec.inputSize}`);
  const count = (shapes: ParamShape[]) => shapes.reduce((t, p) => t + shapeSize(p.shape), 0);
  if (count(l.params) !== l.initialParams.length) throw new Error(`the layers model has ${count(l.params)} parameters but ${l.initialParams.length} initial values`);
  if (count(l.buffers) !== l.initialBuffers.length) throw new Error(`the layers model has ${count(l.buffers)} buffer values but ${l.initialBuffers.length} initial values`);
  return l;
}

function defaultInputShape(inputSize: number): [number, number, number] | null {
  const side = Math.round(Math.sqrt(inputSize));
  return side * side === inputSize ? [side, side, 1] : null;
}

/** Validates the spec and fills in the defaults. */
export function resolveSpec(spec: ModelSpec): ResolvedSpec {
  if (!MODEL_KINDS.includes(spec.kind)) throw new Error(`unsupported model kind '${String(spec.kind)}'`);
  if (!isPositiveInt(spec.inputSize)) throw new Error(`inputSize must be a positive integer, got ${spec.inputSize}`);
  if (!Array.isArray(spec.hidden) || !spec.hidden.every(isPositiveInt)) {
    throw new Error(`hidden must be an array of positive integers, got ${JSON.stringify(spec.hidden)}`);
  }
  if (!isPositiveInt(spec.classes) || spec.classes < 2) {
    throw new Error(`classes must be an integer >= 2, got ${spec.classes}`);
  }
  if (!Number.isSafeInteger(spec.initSeed)) throw new Error(`initSeed must be an integer, got ${spec.initSeed}`);
  const norm = spec.norm ?? 'none';
  if (!NORM_KINDS.includes(norm)) throw new Error(`norm must be one of ${NORM_KINDS.join(', ')}, got '${String(norm)}'`);

  if (spec.kind === 'mlp') {
    for (const field of ['inputShape', 'filters', 'kernelSize'] as const) {
      if (spec[field] !== undefined) throw new Error(`${field} applies to kind 'cnn' only`);
    }
    let groups = 0;
    if (norm === 'layer') groups = 1;
    if (norm === 'group') {
      groups = spec.groups ?? DEFAULT_GROUPS;
      if (!isPositiveInt(groups)) throw new Error(`groups must be a positive integer, got ${groups}`);
      const bad = spec.hidden.find((w) => w % groups !== 0);
      if (bad !== undefined) throw new Error(`groups (${groups}) must divide every hidden width, but ${bad} is not a multiple`);
    }
    return {
      kind: 'mlp',
      inputSize: spec.inputSize,
      hidden: [...spec.hidden],
      classes: spec.classes,
      initSeed: spec.initSeed,
      norm,
      groups,
      convStages: [],
      kernelSize: 0,
      inputShape: null,
      denseInput: spec.inputSize,
    };
  }

  if (norm !== 'none') throw new Error(`norm '${norm}' is supported for kind 'mlp' only (the cnn has no normalisation layers)`);
  const inputShape = spec.inputShape ? ([...spec.inputShape] as [number, number, number]) : defaultInputShape(spec.inputSize);
  if (!inputShape) throw new Error(`inputShape is required for a cnn whose inputSize (${spec.inputSize}) is not a perfect square`);
  if (inputShape.length !== 3 || !inputShape.every(isPositiveInt)) {
    throw new Error(`inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(spec.inputShape)}`);
  }
  if (shapeSize(inputShape) !== spec.inputSize) {
    throw new Error(`inputShape ${JSON.stringify(inputShape)} has ${shapeSize(inputShape)} values but inputSize is ${spec.inputSize}`);
  }
  const filters = spec.filters ?? [...DEFAULT_CNN_FILTERS];
  if (!Array.isArray(filters) || filters.length === 0 || !filters.every(isPositiveInt)) {
    throw new Error(`filters must be a non-empty array of positive integers, got ${JSON.stringify(spec.filters)}`);
  }
  const kernelSize = spec.kernelSize ?? DEFAULT_KERNEL_SIZE;
  if (!isPositiveInt(kernelSize)) throw new Error(`kernelSize must be a positive integer, got ${spec.kernelSize}`);
  const convStages: ConvStage[] = [];
  let [h, w, c] = inputShape;
  for (const f of filters) {
    const outH = Math.floor(h / 2);
    const outW = Math.floor(w / 2);
    if (outH < 1 || outW < 1) {
      throw new Error(`inputShape ${JSON.stringify(inputShape)} is too small for ${filters.length} conv + 2x2 pool stages`);
    }
    convStages.push({ inH: h, inW: w, inC: c, filters: f, outH, outW });
    [h, w, c] = [outH, outW, f];
  }
  return {
    kind: 'cnn',
    inputSize: spec.inputSize,
    hidden: [...spec.hidden],
    classes: spec.classes,
    initSeed: spec.initSeed,
    norm: 'none',
    groups: 0,
    convStages,
    kernelSize,
    inputShape,
    denseInput: h * w * c,
  };
}

/**
 * Canonical parameter order. MLP: dense_1/kernel [in,h1], dense_1/bias [h1], (norm_1/gamma [h1], norm_1/beta [h1]
 * when spec.norm is not 'none'), dense_2/..., output/kernel [hk,classes], output/bias [classes].
 * CNN: conv_1/kernel [k,k,c,f1], conv_1/bias [f1], conv_2/..., then the dense layers as for an MLP whose input is
 * the flattened (h, w, c row-major) output of the last pool.
 */
export function paramShapes(spec: ModelSpec): ParamShape[] {
  if (spec.kind === 'layers') return layersOf(spec).params;
  const r = resolveSpec(spec);
  const shapes: ParamShape[] = [];
  r.convStages.forEach((s, i) => {
    shapes.push({ name: `conv_${i + 1}/kernel`, shape: [r.kernelSize, r.kernelSize, s.inC, s.filters] });
    shapes.push({ name: `conv_${i + 1}/bias`, shape: [s.filters] });
  });
  const sizes = [r.denseInput, ...r.hidden, r.classes];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const name = layerName(i, r.hidden.length);
    shapes.push({ name: `${name}/kernel`, shape: [sizes[i]!, sizes[i + 1]!] });
    shapes.push({ name: `${name}/bias`, shape: [sizes[i + 1]!] });
    if (r.norm !== 'none' && i < r.hidden.length) {
      shapes.push({ name: `norm_${i + 1}/gamma`, shape: [sizes[i + 1]!] });
      shapes.push({ name: `norm_${i + 1}/beta`, shape: [sizes[i + 1]!] });
    }
  }
  return shapes;
}

/**
 * Non-trainable state in canonical order: for norm 'batch', norm_i/moving_mean [hi] and norm_i/moving_variance [hi]
 * per hidden layer; empty for every other spec.
 */
export function bufferShapes(spec: ModelSpec): ParamShape[] {
  if (spec.kind === 'layers') return layersOf(spec).buffers;
  const r = resolveSpec(spec);
  if (r.norm !== 'batch') return [];
  return r.hidden.flatMap((w, i) => [
    { name: `norm_${i + 1}/moving_mean`, shape: [w] },
    { name: `norm_${i + 1}/moving_variance`, shape: [w] },
  ]);
}

export function bufferCount(spec: ModelSpec): number {
  return bufferShapes(spec).reduce((total, p) => total + shapeSize(p.shape), 0);
}

/** Initial buffers: running means 0 and running variances 1 (as PyTorch). */
export function initBuffers(spec: ModelSpec): Float32Array {
  if (spec.kind === 'layers') return layersOf(spec).initialBuffers.slice();
  const shapes = bufferShapes(spec);
  const out = new Float32Array(shapes.reduce((t, p) => t + shapeSize(p.shape), 0));
  let offset = 0;
  for (const { name, shape } of shapes) {
    const size = shapeSize(shape);
    if (name.endsWith('/moving_variance')) out.fill(1, offset, offset + size);
    offset += size;
  }
  return out;
}

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Number of parameters (length of the flat vectors). */
export function paramCount(spec: ModelSpec): number {
  return paramShapes(spec).reduce((total, p) => total + shapeSize(p.shape), 0);
}

/**
 * Small seeded PRNG (mulberry32). Only 32-bit integer ops and one exact division, so the stream is
 * identical on every JS engine and machine.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Folds a (possibly large or negative) integer seed into 32 bits without discarding the high part. */
function seed32(seed: number): number {
  const lo = seed % 4294967296;
  const hi = Math.floor(seed / 4294967296);
  return (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
}

/**
 * Glorot-uniform kernels, zero biases, unit gammas and zero betas in canonical order, computed in plain JS so
 * every replica starts bit-identical regardless of backend: the limit uses only sqrt (correctly rounded by
 * IEEE 754), and each value is one multiply-add rounded once to float32. The random stream is consumed by the
 * kernels only, in canonical order, so adding a norm does not change the dense kernels of a spec.
 * Conv kernels [k, k, in, out] use Keras' fans: fanIn = k*k*in, fanOut = k*k*out.
 */
export function initParams(spec: ModelSpec): Float32Array {
  // A loaded model starts from the weights its files hold, on every replica.
  if (spec.kind === 'layers') return layersOf(spec).initialParams.slice();
  const shapes = paramShapes(spec);
  const out = new Float32Array(shapes.reduce((t, p) => t + shapeSize(p.shape), 0));
  const rand = mulberry32(seed32(spec.initSeed));
  let offset = 0;
  for (const { name, shape } of shapes) {
    const size = shapeSize(shape);
    if (name.endsWith('/kernel')) {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = receptive * shape[shape.length - 2]!;
      const fanOut = receptive * shape[shape.length - 1]!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) out[offset + i] = (2 * rand() - 1) * limit;
    } else if (name.endsWith('/gamma')) {
      out.fill(1, offset, offset + size);
    }
    // Biases and betas stay zero (Float32Array is zero-filled).
    offset += size;
  }
  return out;
}
