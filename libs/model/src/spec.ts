export interface ModelSpec {
  kind: 'mlp';
  inputSize: number;
  /** Widths of the ReLU hidden layers; empty means softmax regression. */
  hidden: number[];
  classes: number;
  initSeed: number;
}

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

/** Throws a descriptive Error for a spec that cannot describe a network. */
export function validateSpec(spec: ModelSpec): void {
  if (spec.kind !== 'mlp') throw new Error(`unsupported model kind '${String(spec.kind)}'`);
  if (!isPositiveInt(spec.inputSize)) throw new Error(`inputSize must be a positive integer, got ${spec.inputSize}`);
  if (!Array.isArray(spec.hidden) || !spec.hidden.every(isPositiveInt)) {
    throw new Error(`hidden must be an array of positive integers, got ${JSON.stringify(spec.hidden)}`);
  }
  if (!isPositiveInt(spec.classes) || spec.classes < 2) {
    throw new Error(`classes must be an integer >= 2, got ${spec.classes}`);
  }
  if (!Number.isSafeInteger(spec.initSeed)) throw new Error(`initSeed must be an integer, got ${spec.initSeed}`);
}

/** Layer widths from input to logits, e.g. [784, 128, 64, 4]. */
export function layerSizes(spec: Pick<ModelSpec, 'inputSize' | 'hidden' | 'classes'>): number[] {
  return [spec.inputSize, ...spec.hidden, spec.classes];
}

/** dense_1/kernel [in,h1], dense_1/bias [h1], ..., output/kernel [hk,classes], output/bias [classes]. */
export function paramShapes(spec: ModelSpec): ParamShape[] {
  validateSpec(spec);
  const sizes = layerSizes(spec);
  const shapes: ParamShape[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const name = layerName(i, spec.hidden.length);
    shapes.push({ name: `${name}/kernel`, shape: [sizes[i]!, sizes[i + 1]!] });
    shapes.push({ name: `${name}/bias`, shape: [sizes[i + 1]!] });
  }
  return shapes;
}

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

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
 * Glorot-uniform kernels and zero biases in canonical order, computed in plain JS so every replica
 * starts bit-identical regardless of backend: the limit uses only sqrt (correctly rounded by IEEE 754),
 * and each value is one multiply-add rounded once to float32.
 */
export function initParams(spec: ModelSpec): Float32Array {
  const shapes = paramShapes(spec);
  const out = new Float32Array(shapes.reduce((t, p) => t + shapeSize(p.shape), 0));
  const rand = mulberry32(seed32(spec.initSeed));
  let offset = 0;
  for (const { shape } of shapes) {
    const size = shapeSize(shape);
    if (shape.length === 2) {
      const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
      for (let i = 0; i < size; i++) out[offset + i] = (2 * rand() - 1) * limit;
    }
    // Biases stay zero (Float32Array is zero-filled).
    offset += size;
  }
  return out;
}
