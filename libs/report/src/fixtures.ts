import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRef, SweepInfo } from './results';
import { lossSwing } from './stats';
import type { RunSummary } from './summary';

/*
 * Test fixtures: a small, realistic-looking sweep written as run directories (config.json,
 * summary.json, metrics.jsonl, label-histogram.json), made of deterministic curves shaped
 * like the real strategies' (iid smooth; sequential-single-class swinging with the class
 * of the step and aligned gradients; label-per-node with conflicting gradients).
 * Used by the report's tests; not part of the library's exports.
 */

export interface FixtureOptions {
  /** Eval records carry weightDivergence (default true). */
  weightDivergence?: boolean;
  /** Write label-histogram.json (default true). */
  histograms?: boolean;
  /** seq-cyclic seed 2 stops at step 70 with an error (default false). */
  failedRun?: boolean;
  steps?: number;
  evalEvery?: number;
}

const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress'];
const WORKERS = 4;
const ARMS = [
  { name: 'iid', settings: { strategy: 'iid' } },
  { name: 'label-per-node', settings: { strategy: 'label-per-node' } },
  { name: 'seq-cyclic', settings: { strategy: 'sequential-single-class', order: 'cyclic', runLength: 1 } },
];

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes the fixture sweep under `dir`; returns what the report needs. */
export function writeFixtureSweep(dir: string, opts: FixtureOptions = {}): { info: SweepInfo; refs: RunRef[] } {
  const steps = opts.steps ?? 120;
  const evalEvery = opts.evalEvery ?? 10;
  const seeds = [1, 2];
  const refs: RunRef[] = [];
  for (const seed of seeds) {
    for (const [a, arm] of ARMS.entries()) {
      const rand = prng(seed * 100 + a);
      const runDir = join(dir, arm.name, `seed-${seed}`);
      mkdirSync(runDir, { recursive: true });
      refs.push({ arm: arm.name, seed, dir: runDir });
      const fails = opts.failedRun === true && arm.name === 'seq-cyclic' && seed === 2;
      const lastStep = fails ? 70 : steps;
      const config = {
        dataset: 'fashion-mnist',
        classes: [0, 1, 2, 3],
        workers: WORKERS,
        batchSize: 128,
        steps,
        seed,
        evalEvery,
        lossWindow: 50,
        lr: 0.05,
        optimizer: 'sgd',
        ...arm.settings,
        classNames: CLASS_NAMES,
      };
      writeFileSync(join(runDir, 'config.json'), JSON.stringify(config, null, 2));

      const lines: string[] = [];
      const losses: number[] = [];
      let perClass = [0.25, 0.25, 0.25, 0.25];
      for (let t = 0; t < lastStep; t++) {
        const trend = 1.2 * Math.exp(-t / [35, 40, 60][a]!) + 0.33 + 0.04 * a + 0.06 * (seed - 1.5);
        const swing = a === 2 ? 0.45 * Math.sin((Math.PI / 2) * t) + 0.2 * (rand() - 0.5) : 0.08 * (rand() - 0.5);
        const loss = trend + swing;
        losses.push(loss);
        const workerLoss = Array.from({ length: WORKERS }, (_, w) => loss + (a === 1 ? 0.25 * (w - 1.5) : 0) + 0.1 * (rand() - 0.5));
        const gradCosine = a === 0 ? 0.55 + 0.1 * (rand() - 0.5) : a === 1 ? -0.25 + 0.1 * (rand() - 0.5) : 0.9 + 0.05 * (rand() - 0.5);
        lines.push(JSON.stringify({ kind: 'step', step: t, loss, workerLoss, samples: 512, stepMs: 50, computeMs: [20, 20, 20, 20], elapsedSeconds: t * 0.05, gradNorm: [1, 1, 1, 1], gradCosine }));
        const done = t + 1;
        if (done % evalEvery === 0 || done === steps) {
          const level = [0.86, 0.83, 0.7][a]! - 0.55 * Math.exp(-done / [30, 34, 30][a]!) + 0.02 * (seed - 1.5);
          perClass = CLASS_NAMES.map((_, c) => Math.min(1, Math.max(0, level + (a === 2 ? 0.25 * Math.cos((Math.PI / 2) * (done - c)) : 0.06 * (c - 1.5)) + 0.03 * (rand() - 0.5))));
          const testAccuracy = perClass.reduce((s, x) => s + x, 0) / perClass.length;
          const record: Record<string, unknown> = { kind: 'eval', step: done, testAccuracy, testLoss: trend, perClassAccuracy: perClass };
          if (opts.weightDivergence !== false) record['weightDivergence'] = a === 0 ? 0 : (a === 1 ? 0.05 : 0.3) * Math.sqrt(done) * (1 + 0.1 * rand());
          lines.push(JSON.stringify(record));
        }
      }
      writeFileSync(join(runDir, 'metrics.jsonl'), lines.join('\n') + '\n');

      const accuracy = perClass.reduce((s, x) => s + x, 0) / perClass.length;
      const summary: Partial<RunSummary> = {
        status: fails ? 'failed' : 'completed',
        error: fails ? 'step 70: no gradient from worker 2 (trainer-2) within 30 s (--step-timeout); treating it as lost and stopping the run' : null,
        strategy: arm.settings.strategy,
        dataset: 'fashion-mnist',
        workers: WORKERS,
        batchSize: 128,
        steps,
        stepsCompleted: lastStep,
        optimizer: 'sgd',
        lr: 0.05,
        seed,
        finalTestAccuracy: accuracy,
        perClassAccuracy: perClass,
        classNames: CLASS_NAMES,
        worstClassAccuracy: Math.min(...perClass),
        finalLoss: losses.at(-1)!,
        lossSwing: lossSwing(losses, 50),
        backend: 'wasm',
        trainerBackends: ['wasm', 'wasm', 'wasm', 'wasm'],
        wallSeconds: lastStep * 0.05,
        stepsPerSecond: 20,
        communicationShare: 0.6,
      };
      writeFileSync(join(runDir, 'summary.json'), JSON.stringify(summary, null, 2));

      if (opts.histograms !== false) {
        const perSample = (steps * 128) / CLASS_NAMES.length;
        const perWorker = Array.from({ length: WORKERS }, (_, w) =>
          CLASS_NAMES.map((_, c) => (a === 1 ? (c === w ? steps * 128 : 0) : Math.round(perSample * (1 + (a === 0 ? 0.1 * (rand() - 0.5) : 0))))),
        );
        // The first 8 steps' class mix: iid a bit of every class, label-per-node worker w's class, sequential the step's class for all.
        const firstSteps = Array.from({ length: 8 }, (_, t) =>
          Array.from({ length: WORKERS }, (_, w) => CLASS_NAMES.map((_, c) => (a === 0 ? 32 : a === 1 ? (c === w ? 128 : 0) : c === t % CLASS_NAMES.length ? 128 : 0))),
        );
        writeFileSync(join(runDir, 'label-histogram.json'), JSON.stringify({ classNames: CLASS_NAMES, perWorker, firstSteps }));
      }
    }
  }
  const info: SweepInfo = {
    name: 'fixture-sweep',
    description: 'A made-up sweep for the report tests: iid, label-per-node and sequential single-class batches, 4 workers, two seeds.',
    dataset: 'fashion-mnist classes 0,1,2,3',
    target: 0.7,
    reference: 'iid',
    seeds,
    arms: ARMS,
    base: { dataset: 'fashion-mnist', classes: [0, 1, 2, 3], workers: WORKERS, batchSize: 128, steps, evalEvery },
    date: '2026-01-15T12:00:00.000Z',
  };
  return { info, refs };
}
