import { describe, expect, it } from 'vitest';
import { FaultPlan, formatFault, parseFault } from './faults';

describe('faults', () => {
  it('parses the five kinds and prints them back', () => {
    for (const text of ['kill:2@100', 'pause:2@100:20', 'slow:0@0:50', 'drop:3@7:0.25', 'flip:1@3:10']) expect(formatFault(parseFault(text))).toBe(text);
    expect(parseFault('kill:2@100')).toEqual({ kind: 'kill', worker: 2, step: 100, arg: 0 });
  });

  it('refuses what it cannot mean, naming the fault', () => {
    expect(() => parseFault('explode:2@1')).toThrow(/fault "explode:2@1": expected KIND:WORKER@STEP\[:ARG\]/);
    expect(() => parseFault('pause:2@1')).toThrow(/pause needs seconds/);
    expect(() => parseFault('drop:2@1:1.5')).toThrow(/drop needs a probability/);
    expect(() => parseFault('kill:2@1:3')).toThrow(/kill takes no argument/);
    expect(() => parseFault('flip:2@1')).toThrow(/flip needs the factor/);
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
    expect([poisoner.at(3).flip, poisoner.at(4).flip, poisoner.at(400).flip]).toEqual([0, 10, 10]);
    // Drops: about the probability asked, and the same ones for the same seed.
    const drops = Array.from({ length: 4000 }, (_, t) => one.at(t).drop);
    const rate = drops.filter(Boolean).length / drops.length;
    expect(rate).toBeGreaterThan(0.45);
    expect(rate).toBeLessThan(0.55);
    expect(Array.from({ length: 4000 }, (_, t) => new FaultPlan(faults, 1, 1).at(t).drop)).toEqual(drops);
  });
});
