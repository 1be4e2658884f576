/*
 * Optimizers in plain JS over Float32Array.
 *
 * Every replica (trainers and coordinator) applies the averaged gradient itself. Doing it
 * here rather than in TensorFlow.js is what keeps replicas bit-identical: tfjs backends
 * (cpu, wasm, webgl, node) differ in fused ops, FMA use and float precision, while JS
 * number arithmetic is IEEE-754 double everywhere, with a fixed evaluation order and a
 * correctly rounded Math.sqrt. Math.pow is NOT specified to be correctly rounded (V8 has
 * changed its implementation before), so Adam's beta^t is kept as a running product.
 *
 * Each element is computed in float64 from float64 state and rounded to float32 once,
 * when stored into params. State (velocity, moments) is kept in float64: it costs 8 bytes
 * a parameter per buffer, which is nothing at these model sizes, and avoids an extra
 * rounding per step that PyTorch's float32 state would add.
 */

export type OptimizerName = 'sgd' | 'momentum' | 'adam';
export const OPTIMIZER_NAMES: readonly OptimizerName[] = Object.freeze(['sgd', 'momentum', 'adam'] as const);

export interface OptimizerSpec {
  name: OptimizerName;
  lr: number;
  /** 'momentum' only; default 0.9. */
  momentum?: number;
  /** 'adam' only; defaults 0.9, 0.999, 1e-8 (Kingma & Ba, also PyTorch's). */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export const OPTIMIZER_DEFAULTS = Object.freeze({ momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });

function isOptimizerName(name: unknown): name is OptimizerName {
  return typeof name === 'string' && (OPTIMIZER_NAMES as readonly string[]).includes(name);
}

/**
 * Fills in defaults for fields left undefined and validates everything, so a typo or a
 * nonsensical value fails at startup rather than as NaN parameters at step 1.
 * Note that only `undefined` means "use the default": 0 is a valid momentum or beta1.
 * (A spec decoded from protobuf has 0, not undefined, for fields the sender never set.)
 */
export function resolveOptimizer(spec: OptimizerSpec): Required<OptimizerSpec> {
  if (!isOptimizerName(spec.name)) {
    throw new RangeError(`unknown optimizer ${JSON.stringify(spec.name)}; expected one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
  const r: Required<OptimizerSpec> = {
    name: spec.name,
    lr: spec.lr,
    momentum: spec.momentum ?? OPTIMIZER_DEFAULTS.momentum,
    beta1: spec.beta1 ?? OPTIMIZER_DEFAULTS.beta1,
    beta2: spec.beta2 ?? OPTIMIZER_DEFAULTS.beta2,
    epsilon: spec.epsilon ?? OPTIMIZER_DEFAULTS.epsilon,
  };
  if (!(Number.isFinite(r.lr) && r.lr > 0)) throw new RangeError(`optimizer lr must be a positive number, got ${r.lr}`);
  for (const key of ['momentum', 'beta1', 'beta2'] as const) {
    if (!(r[key] >= 0 && r[key] < 1)) throw new RangeError(`optimizer ${key} must be in [0, 1), got ${r[key]}`);
  }
  if (!(Number.isFinite(r.epsilon) && r.epsilon > 0)) {
    throw new RangeError(`optimizer epsilon must be a positive number, got ${r.epsilon}`);
  }
  return r;
}

export interface Optimizer {
  readonly spec: Required<OptimizerSpec>;
  /** Number of updates applied so far. */
  readonly steps: number;
  /** params -= update(grad), in place. Both must have the size given at creation. */
  apply(params: Float32Array, grad: Float32Array): void;
  /** The whole state (step count, and velocity or moments), exactly: for checkpoints and late joiners. */
  exportState(): Float64Array;
  /** Restores what exportState returned (of an optimizer with the same spec and size). */
  importState(state: Float64Array): void;
}

function checkStateLength(name: string, state: Float64Array, expected: number): void {
  if (state.length !== expected) throw new RangeError(`${name} optimizer state: expected ${expected} values, got ${state.length}`);
}

/**
 * sgd:      p -= lr * g
 * momentum: v = m * v + g;  p -= lr * v          (PyTorch SGD(momentum=m), dampening 0,
 *                                                  not Nesterov; v starts at 0, so v_1 = g_1
 *                                                  exactly as PyTorch's buffer init)
 * adam:     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *           p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *           (Kingma & Ba with bias correction, epsilon added outside the corrected sqrt as
 *            in PyTorch's Adam; no weight decay, no amsgrad)
 */
export function createOptimizer(spec: OptimizerSpec, size: number): Optimizer {
  const s = Object.freeze(resolveOptimizer(spec));
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`optimizer size must be a non-negative integer, got ${size}`);
  const check = (params: Float32Array, grad: Float32Array): void => {
    if (params.length !== size || grad.length !== size) {
      throw new RangeError(`${s.name}: expected ${size} params and gradient values, got ${params.length} and ${grad.length}`);
    }
  };
  switch (s.name) {
    case 'sgd':
      return new Sgd(s, check);
    case 'momentum':
      return new Momentum(s, size, check);
    case 'adam':
      return new Adam(s, size, check);
  }
}

type Check = (params: Float32Array, grad: Float32Array) => void;

class Sgd implements Optimizer {
  steps = 0;
  constructor(
    readonly spec: Required<OptimizerSpec>,
    private readonly check: Check,
  ) {}

  apply(params: Float32Array, grad: Float32Array): void {
    this.check(params, grad);
    const lr = this.spec.lr;
    for (let j = 0; j < params.length; j++) params[j] = params[j]! - lr * grad[j]!;
    this.steps++;
  }

  exportState(): Float64Array {
    return Float64Array.of(this.steps);
  }

  importState(state: Float64Array): void {
    checkStateLength('sgd', state, 1);
    this.steps = state[0]!;
  }
}

class Momentum implements Optimizer {
  steps = 0;
  private readonly velocity: Float64Array;
  constructor(
    readonly spec: Required<OptimizerSpec>,
    size: number,
    private readonly check: Check,
  ) {
    this.velocity = new Float64Array(size);
  }

  apply(params: Float32Array, grad: Float32Array): void {
    this.check(params, grad);
    const { lr, momentum } = this.spec;
    const v = this.velocity;
    for (let j = 0; j < params.length; j++) {
      const vj = momentum * v[j]! + grad[j]!;
      v[j] = vj;
      params[j] = params[j]! - lr * vj;
    }
    this.steps++;
  }

  /** [steps, velocity...] */
  exportState(): Float64Array {
    const out = new Float64Array(1 + this.velocity.length);
    out[0] = this.steps;
    out.set(this.velocity, 1);
    return out;
  }

  importState(state: Float64Array): void {
    checkStateLength('momentum', state, 1 + this.velocity.length);
    this.steps = state[0]!;
    this.velocity.set(state.subarray(1));
  }
}

class Adam implements Optimizer {
  steps = 0;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  /** beta1^t and beta2^t as running products (see the note on Math.pow above). */
  private beta1Pow = 1;
  private beta2Pow = 1;
  constructor(
    readonly spec: Required<OptimizerSpec>,
    size: number,
    private readonly check: Check,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  apply(params: Float32Array, grad: Float32Array): void {
    this.check(params, grad);
    const { lr, beta1, beta2, epsilon } = this.spec;
    this.beta1Pow *= beta1;
    this.beta2Pow *= beta2;
    const stepSize = lr / (1 - this.beta1Pow);
    const bc2Sqrt = Math.sqrt(1 - this.beta2Pow);
    const m = this.m;
    const v = this.v;
    for (let j = 0; j < params.length; j++) {
      const g = grad[j]!;
      const mj = beta1 * m[j]! + (1 - beta1) * g;
      const vj = beta2 * v[j]! + (1 - beta2) * g * g;
      m[j] = mj;
      v[j] = vj;
      params[j] = params[j]! - (stepSize * mj) / (Math.sqrt(vj) / bc2Sqrt + epsilon);
    }
    this.steps++;
  }

  /** [steps, beta1^t, beta2^t, m..., v...]: the running products too, so a restored Adam continues bit for bit. */
  exportState(): Float64Array {
    const n = this.m.length;
    const out = new Float64Array(3 + 2 * n);
    out[0] = this.steps;
    out[1] = this.beta1Pow;
    out[2] = this.beta2Pow;
    out.set(this.m, 3);
    out.set(this.v, 3 + n);
    return out;
  }

  importState(state: Float64Array): void {
    const n = this.m.length;
    checkStateLength('adam', state, 3 + 2 * n);
    this.steps = state[0]!;
    this.beta1Pow = state[1]!;
    this.beta2Pow = state[2]!;
    this.m.set(state.subarray(3, 3 + n));
    this.v.set(state.subarray(3 + n));
  }
}
