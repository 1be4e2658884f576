import { describe, expect, it } from 'vitest';
import { paramChecksum } from './metrics';
import { OPTIMIZER_NAMES, createOptimizer, resolveOptimizer, type OptimizerSpec } from './optimizer';

/*
 * Expected trajectories are computed here independently, in float64 (and for SGD and
 * momentum also written out by hand). The optimizer stores params as float32, rounding
 * each step's result (relative error <= 2^-24, ~6e-8), while the references never round,
 * so after a few steps they agree to a few float32 ulps, not bit for bit: 1e-6 relative
 * (about 8 ulps at magnitude 1) is the tolerance. Bit-exactness is tested where it is the
 * contract: between replicas fed the same inputs.
 */

const P0 = [1, -2, 0.5];
const GRADS = [
  [0.5, -1, 2],
  [1, 1, -1],
  [-0.25, 0, 4],
];

function expectClose(actual: Float32Array, expected: readonly number[], rel = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = rel * Math.max(1, Math.abs(expected[i]!));
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol)) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/** Runs `spec` over GRADS from P0 and returns params after each step. */
function trajectory(spec: OptimizerSpec): Float32Array[] {
  const opt = createOptimizer(spec, P0.length);
  const p = new Float32Array(P0);
  return GRADS.map((g) => {
    opt.apply(p, new Float32Array(g));
    return p.slice();
  });
}

describe('resolveOptimizer', () => {
  it('fills in the defaults', () => {
    expect(OPTIMIZER_NAMES).toEqual(['sgd', 'momentum', 'adam']);
    expect(resolveOptimizer({ name: 'adam', lr: 0.001 })).toEqual({
      name: 'adam',
      lr: 0.001,
      momentum: 0.9,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
    });
    // 0 is a value, not "unset".
    expect(resolveOptimizer({ name: 'momentum', lr: 0.1, momentum: 0 }).momentum).toBe(0);
  });

  it('rejects nonsense early', () => {
    expect(() => resolveOptimizer({ name: 'rmsprop' as 'sgd', lr: 0.1 })).toThrow('unknown optimizer "rmsprop"');
    expect(() => resolveOptimizer({ name: 'sgd', lr: 0 })).toThrow('lr must be a positive number');
    expect(() => resolveOptimizer({ name: 'sgd', lr: NaN })).toThrow('lr must be a positive number');
    expect(() => resolveOptimizer({ name: 'momentum', lr: 0.1, momentum: 1 })).toThrow('momentum must be in [0, 1)');
    expect(() => resolveOptimizer({ name: 'adam', lr: 0.1, beta2: -0.1 })).toThrow('beta2 must be in [0, 1)');
    expect(() => resolveOptimizer({ name: 'adam', lr: 0.1, epsilon: 0 })).toThrow('epsilon must be a positive number');
  });
});

describe('createOptimizer', () => {
  it('sgd: p -= lr g, matching the hand computation', () => {
    const t = trajectory({ name: 'sgd', lr: 0.1 });
    expectClose(t[0]!, [0.95, -1.9, 0.3]);
    expectClose(t[1]!, [0.85, -2.0, 0.4]);
    expectClose(t[2]!, [0.875, -2.0, 0.0]);
  });

  it('momentum: v = m v + g; p -= lr v (PyTorch), matching the hand computation', () => {
    // v1 = g1 = [0.5, -1, 2]                      p1 = [0.95, -1.9, 0.3]
    // v2 = 0.9 v1 + g2 = [1.45, 0.1, 0.8]         p2 = [0.805, -1.91, 0.22]
    // v3 = 0.9 v2 + g3 = [1.055, 0.09, 4.72]      p3 = [0.6995, -1.919, -0.252]
    const t = trajectory({ name: 'momentum', lr: 0.1, momentum: 0.9 });
    expectClose(t[0]!, [0.95, -1.9, 0.3]);
    expectClose(t[1]!, [0.805, -1.91, 0.22]);
    expectClose(t[2]!, [0.6995, -1.919, -0.252]);
  });

  it('adam: bias-corrected Kingma & Ba, matching an independent float64 reference', () => {
    const lr = 0.1;
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    // Reference in the paper's form (m-hat, v-hat, Math.pow), not the implementation's.
    const p = [...P0];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    const expected = GRADS.map((g, s) => {
      const t = s + 1;
      for (let i = 0; i < 3; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
        const mHat = m[i]! / (1 - b1 ** t);
        const vHat = v[i]! / (1 - b2 ** t);
        p[i] = p[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
      return [...p];
    });
    const t = trajectory({ name: 'adam', lr, beta1: b1, beta2: b2, epsilon: eps });
    // By hand, step 1: m-hat = g and v-hat = g^2, so each parameter moves lr * sign(g).
    expectClose(t[0]!, [0.9, -1.9, 0.4]);
    expectClose(t[0]!, expected[0]!);
    expectClose(t[1]!, expected[1]!);
    expectClose(t[2]!, expected[2]!);
    // Coordinate 1 gets a zero gradient at step 3 yet still moves: m carries momentum.
    expect(t[2]![1]).not.toBe(t[1]![1]);
  });

  it('counts steps and validates sizes', () => {
    const opt = createOptimizer({ name: 'adam', lr: 0.01 }, 3);
    expect(opt.steps).toBe(0);
    expect(opt.spec).toEqual(resolveOptimizer({ name: 'adam', lr: 0.01 }));
    opt.apply(new Float32Array(3), new Float32Array(3));
    expect(opt.steps).toBe(1);
    expect(() => opt.apply(new Float32Array(3), new Float32Array(2))).toThrow('expected 3 params and gradient values, got 3 and 2');
    expect(() => opt.apply(new Float32Array(4), new Float32Array(4))).toThrow(RangeError);
    expect(() => createOptimizer({ name: 'sgd', lr: 0.1 }, -1)).toThrow('size');
  });

  it('two replicas fed identical inputs stay bit-identical, for every optimizer', () => {
    const n = 4096;
    let s = 7;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32 - 0.5;
    };
    const init = Float32Array.from({ length: n }, () => rnd());
    const grads = Array.from({ length: 25 }, () => Float32Array.from({ length: n }, () => rnd() * 10 ** Math.floor(rnd() * 6)));
    for (const name of OPTIMIZER_NAMES) {
      const spec: OptimizerSpec = { name, lr: 0.01 };
      const a = { opt: createOptimizer(spec, n), p: init.slice() };
      const b = { opt: createOptimizer(spec, n), p: init.slice() };
      for (const g of grads) {
        a.opt.apply(a.p, g);
        b.opt.apply(b.p, g.slice()); // same values, different memory
        expect(paramChecksum(a.p)).toBe(paramChecksum(b.p));
      }
      expect(Buffer.from(a.p.buffer).equals(Buffer.from(b.p.buffer))).toBe(true);
      expect(paramChecksum(a.p)).not.toBe(paramChecksum(init));
    }
  });
});

describe('optimizer state export/import', () => {
  it.each(['sgd', 'momentum', 'adam'] as const)('%s: a restored optimizer continues bit for bit', (name) => {
    const size = 50;
    const grads = Array.from({ length: 12 }, (_, t) => Float32Array.from({ length: size }, (_, j) => Math.sin(t * 7 + j) * (1 + j / 10)));
    const straight = createOptimizer({ name, lr: 0.01 }, size);
    const p1 = Float32Array.from({ length: size }, (_, j) => j / size);
    for (const g of grads) straight.apply(p1, g);

    const first = createOptimizer({ name, lr: 0.01 }, size);
    const p2 = Float32Array.from({ length: size }, (_, j) => j / size);
    for (const g of grads.slice(0, 5)) first.apply(p2, g);
    const resumed = createOptimizer({ name, lr: 0.01 }, size);
    resumed.importState(first.exportState());
    expect(resumed.steps).toBe(5);
    for (const g of grads.slice(5)) resumed.apply(p2, g);
    expect(Buffer.from(p2.buffer).equals(Buffer.from(p1.buffer))).toBe(true);
    expect(() => resumed.importState(new Float64Array(3))).toThrow(/optimizer state: expected/);
  });
});
