import { describe, expect, it } from 'vitest';
import { encodeTensor, type GradientUpdate, type GradientUpdate__Output, type StepAssignment__Output } from '@shardlab/protocol';
import { received } from '@shardlab/testing';
import { RequestError } from './errors';
import { newStepState, replicaCheck, takePush, type StepState } from './step-state';

const P = 6;

function assignment(step: number, samples: number, flags: Partial<StepAssignment__Output> = {}): StepAssignment__Output {
  const ids = Array.from({ length: samples }, (_, i) => i);
  return { step, done: false, batches: [{ features: null, labels: [], ids }], reportChecksum: false, stopReason: '', peers: [], reportGradient: false, reportParams: false, reportState: false, peerVerifiers: [], peerWorkers: [], epoch: 0, ...flags };
}

function step(flags: Partial<StepAssignment__Output> = {}, opts: { reportChecksum?: boolean; expectedChecksum?: string | null } = {}): StepState {
  return newStepState({
    step: 3,
    assignments: [assignment(3, 4, flags), assignment(3, 2, flags)],
    lost: [false, false],
    parameters: P,
    reportChecksum: opts.reportChecksum ?? false,
    expectedChecksum: opts.expectedChecksum ?? null,
  });
}

/** Worker `worker`'s push as the coordinator receives it (fields left out arrive as proto3 defaults). */
function push(worker: number, overrides: GradientUpdate = {}): GradientUpdate__Output {
  const g = Float32Array.from({ length: P }, (_, i) => i - 2);
  return received.push({ runId: 'r', worker, step: 3, samples: worker === 0 ? 4 : 2, loss: 0.5, gradient: encodeTensor(g), paramChecksum: 'c', computeMs: 1, ...overrides });
}

describe('takePush', () => {
  it('takes the largest finite float32 values (their norm stays finite in float64)', () => {
    const st = step();
    takePush(st, push(1, { gradient: encodeTensor(new Float32Array(P).fill(3.4e38)) }), { amongTrainers: false, parameters: P, optimizerStateLength: 0 });
    expect(st.gradNorms[1]! / (Math.fround(3.4e38) * Math.sqrt(P))).toBeCloseTo(1, 12);
  });

  it('records a relay push: gradient, its norm, scalars', () => {
    const st = step();
    takePush(st, push(1), { amongTrainers: false, parameters: P, optimizerStateLength: 0 });
    expect(st.pushed).toEqual([false, true]);
    expect(Array.from(st.gradients[1]!)).toEqual([-2, -1, 0, 1, 2, 3]);
    expect(st.gradNorms[1]).toBeCloseTo(Math.sqrt(19), 12);
    expect(st.samples).toEqual([0, 2]);
    expect(st.losses[1]).toBe(0.5);
  });

  it.each<[string, GradientUpdate, RegExp]>([
    ['another step', { step: 4 }, /gradient for step 4, but the run is at step 3/],
    ['a sample count other than the batch', { samples: 3 }, /samples is 3, but the batch had 2/],
    ['a non-finite loss', { loss: NaN }, /loss is NaN/],
    ['no gradient under relay', { gradient: null }, /gradient is missing/],
    ['a gradient of the wrong length', { gradient: encodeTensor(new Float32Array(P + 1)) }, /gradient/],
    ['an infinite gradient element', { gradient: encodeTensor(Float32Array.from([0, 0, 0, 0, Infinity, 0])) }, /gradient element 4 is Infinity/],
    ['a NaN gradient element', { gradient: encodeTensor(Float32Array.from([1, NaN, 0, 0, 0, 0])) }, /gradient element 1 is NaN/],
    ['the largest float32 values (finite) beside a NaN', { gradient: encodeTensor(Float32Array.from([3.4e38, -3.4e38, 3.4e38, 0, 0, NaN])) }, /gradient element 5 is NaN/],
  ])('refuses %s, recording nothing', (_, overrides, message) => {
    const st = step();
    expect(() => takePush(st, push(1, overrides), { amongTrainers: false, parameters: P, optimizerStateLength: 0 })).toThrow(message);
    expect(st.pushed).toEqual([false, false]);
    expect(st.gradients).toEqual([null, null]);
    expect(st.samples).toEqual([0, 0]);
  });

  it('refuses a second push from the same worker as a duplicate', () => {
    const st = step();
    takePush(st, push(0), { amongTrainers: false, parameters: P, optimizerStateLength: 0 });
    const err = (() => {
      try {
        takePush(st, push(0), { amongTrainers: false, parameters: P, optimizerStateLength: 0 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).message).toMatch(/already received/);
  });

  it('among trainers: takes the reported norm without a gradient, but wants what the assignment asked for', () => {
    const st = step();
    takePush(st, push(0, { gradient: null, gradNorm: 2.5 }), { amongTrainers: true, parameters: P, optimizerStateLength: 0 });
    expect(st.gradNorms[0]).toBe(2.5);
    expect(st.gradients[0]).toBeNull();
    expect(() => takePush(step(), push(0, { gradient: null, gradNorm: -1 }), { amongTrainers: true, parameters: P, optimizerStateLength: 0 })).toThrow(/grad_norm is -1/);
    expect(() => takePush(step(), push(0, { gradient: null, gradNorm: NaN }), { amongTrainers: true, parameters: P, optimizerStateLength: 0 })).toThrow(/grad_norm is NaN/);
    expect(() => takePush(step({ reportGradient: true }), push(0, { gradient: null, gradNorm: 1 }), { amongTrainers: true, parameters: P, optimizerStateLength: 0 })).toThrow(/gradient is missing/);
    expect(() => takePush(step({ reportParams: true }), push(0, { gradNorm: 1 }), { amongTrainers: true, parameters: P, optimizerStateLength: 0 })).toThrow(/params were requested/);
    const withParams = step({ reportParams: true });
    takePush(withParams, push(0, { gradNorm: 1, params: encodeTensor(new Float32Array(P).fill(7)) }), { amongTrainers: true, parameters: P, optimizerStateLength: 0 });
    expect(Array.from(withParams.params!)).toEqual([7, 7, 7, 7, 7, 7]);
  });

  it('among trainers, before a checkpoint: wants worker 0\'s optimizer state of exactly the optimizer\'s length, finite', () => {
    const opts = { amongTrainers: true, parameters: P, optimizerStateLength: P };
    const params = encodeTensor(new Float32Array(P).fill(7));
    const bytes = (values: number[]) => Buffer.from(Float64Array.from(values).buffer);
    expect(() => takePush(step({ reportParams: true, reportState: true }), push(0, { gradNorm: 1, params }), opts)).toThrow(/optimizer_state: 0 bytes, but this optimizer's state is 6 float64 values \(48 bytes\)/);
    expect(() => takePush(step({ reportParams: true, reportState: true }), push(0, { gradNorm: 1, params, optimizerState: bytes([1, 2]) }), opts)).toThrow(/optimizer_state: 16 bytes/);
    expect(() => takePush(step({ reportParams: true, reportState: true }), push(0, { gradNorm: 1, params, optimizerState: bytes([1, 2, 3, NaN, 5, 6]) }), opts)).toThrow(/optimizer_state element 3 is NaN/);
    const st = step({ reportParams: true, reportState: true });
    takePush(st, push(0, { gradNorm: 1, params, optimizerState: bytes([1, 2, 3, 4, 5, 6.5]) }), opts);
    expect(Array.from(st.optimizerState!)).toEqual([1, 2, 3, 4, 5, 6.5]);
  });

  it('wants a checksum on checksum steps', () => {
    expect(() => takePush(step({}, { reportChecksum: true }), push(0, { paramChecksum: '' }), { amongTrainers: false, parameters: P, optimizerStateLength: 0 })).toThrow(/param_checksum/);
  });
});

describe('replicaCheck', () => {
  const reported = (checksums: string[], samples: number[], expected: string | null) => {
    const st = step({}, { reportChecksum: true, expectedChecksum: expected });
    st.checksums = checksums;
    st.samples = samples;
    return replicaCheck(st);
  };

  it('relay: every contributing replica must equal the coordinator\'s', () => {
    expect(reported(['a', 'a'], [4, 2], 'a')).toEqual({ ok: true, message: 'all 2 replicas at a' });
    expect(reported(['a', 'b'], [4, 2], 'a')).toEqual({ ok: false, message: 'replicas diverged before step 3: coordinator parameters a, worker 1 has b' });
  });

  it('among trainers: the workers off the majority are named; a worker without samples (lost) is not asked', () => {
    const st = newStepState({ step: 9, assignments: [0, 1, 2, 3].map(() => assignment(9, 1)), lost: [false, false, false, true], parameters: P, reportChecksum: true, expectedChecksum: null });
    st.checksums = ['x', 'y', 'x', ''];
    st.samples = [1, 1, 1, 0];
    expect(replicaCheck(st)).toEqual({ ok: false, message: 'replicas diverged before step 9: most workers have x, worker 1 has y' });
    expect(st.pushed).toEqual([false, false, false, true]);
  });
});
