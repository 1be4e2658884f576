import { describe, expect, it } from 'vitest';
import { FaultPlan, formatFault, parseFault } from './faults';

describe('faults', () => {
  it('parses every kind and prints it back', () => {
    for (const text of ['kill:2@100', 'pause:2@100:20', 'slow:0@0:50', 'drop:3@7:0.25', 'flip:1@3:10', 'scale:0@1:5', 'noise:4@0:0.5']) expect(formatFault(parseFault(text))).toBe(text);
    expect(parseFault('kill:2@100')).toEqual({ kind: 'kill', worker: 2, step: 100, arg: 0 });
  });

  it('refuses what it cannot mean, naming the fault', () => {
    expect(() => parseFault('explode:2@1')).toThrow(/fault "explode:2@1": expected KIND:WORKER@STEP\[:ARG\]/);
    expect(() => parseFault('pause:2@1')).toThrow(/pause needs seconds/);
    expect(() => parseFault('drop:2@1:1.5')).toThrow(/drop needs a probability/);
    expect(() => parseFault('kill:2@1:3')).toThrow(/kill takes no argument/);
    expect(() => parseFault('flip:2@1')).toThrow(/flip needs the factor/);
    expect(() => parseFault('scale:2@1')).toThrow(/scale needs the factor/);
    expect(() => parseFault('noise:2@1:0')).toThrow(/noise needs the standard deviation/);
  });

  it('applies only the worker\'s own faults, at and after their step', () => {
    const faults = ['kill:2@10', 'slow:1@5:30', 'pause:1@7:2', 'drop:1@0:0.5'].map(parseFault);
    const two = new FaultPlan(faults, 2, 1);
    expect(two.at(9).kill).toBe(false);
    expect(two.at(10).kill).toBe(true);
    const one = new FaultPlan(faults, 1, 1);
    expect(one.at(4).delayMs).toBe(0);
    expect(one.at(5).delayMs).toBe(30);
    expect(one.at(7).pauseMs).toBe(2000);
    expect(one.at(8).pauseMs).toBe(0);
    expect(new FaultPlan(faults, 0, 1).empty).toBe(true);
    const poisoner = new FaultPlan([parseFault('flip:3@4:10')], 3, 1);
    expect([poisoner.at(3).poison, poisoner.at(4).poison, poisoner.at(400).poison]).toEqual([null, { kind: 'flip', arg: 10 }, { kind: 'flip', arg: 10 }]);
    // Drops: about the probability asked, and the same ones for the same seed.
    const drops = Array.from({ length: 4000 }, (_, t) => one.at(t).drop);
    const rate = drops.filter(Boolean).length / drops.length;
    expect(rate).toBeGreaterThan(0.45);
    expect(rate).toBeLessThan(0.55);
    expect(Array.from({ length: 4000 }, (_, t) => new FaultPlan(faults, 1, 1).at(t).drop)).toEqual(drops);
  });

  it('poisons: flip and scale send the contribution times -x and x; noise sends N(0, x^2) values drawn from (seed, worker, step)', () => {
    const honest = Float32Array.from({ length: 100_000 }, (_, i) => Math.sin(i));
    const plan = (text: string, worker = 1) => new FaultPlan([parseFault(text)], worker, 7);
    const flip = plan('flip:1@0:10');
    expect(Array.from(flip.poisoned(honest, flip.at(0).poison!, 0).subarray(0, 3))).toEqual(Array.from(honest.subarray(0, 3), (v) => Math.fround(-10 * v)));
    const scale = plan('scale:1@0:3');
    expect(Array.from(scale.poisoned(honest, scale.at(0).poison!, 0).subarray(0, 3))).toEqual(Array.from(honest.subarray(0, 3), (v) => Math.fround(3 * v)));
    const noise = plan('noise:1@0:2');
    const a = noise.poisoned(honest, noise.at(5).poison!, 5);
    // The same draw again for the same step; another for another step or another worker.
    expect(Buffer.from(noise.poisoned(honest, noise.at(5).poison!, 5).buffer).equals(Buffer.from(a.buffer))).toBe(true);
    expect(Buffer.from(noise.poisoned(honest, noise.at(6).poison!, 6).buffer).equals(Buffer.from(a.buffer))).toBe(false);
    const other = plan('noise:2@0:2', 2);
    expect(Buffer.from(other.poisoned(honest, other.at(5).poison!, 5).buffer).equals(Buffer.from(a.buffer))).toBe(false);
    // 100,000 draws: the sample mean's standard error is 2 / 316 = 0.006 and the sample deviation's 0.0045, so
    // these bounds sit 5-10 standard errors out; a wrong scale (sd 1 or 4) or a biased draw falls far outside.
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(sd - 2)).toBeLessThan(0.05);
  });
});
