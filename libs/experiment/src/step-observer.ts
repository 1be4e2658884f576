import { lossSwing, type MetricsRecord } from '@shardlab/report';
import { collectiveNeeds } from '@shardlab/collective';
import type { RunConfig } from './config';
import { meanPairwiseCosine, pairwiseCosines } from './step-metrics';

export interface Evaluation {
  accuracy: number;
  loss: number;
  perClassAccuracy: number[];
  /** ||w - w_ref|| / ||w_ref|| against a reference run at the same step (Zhao et al. 2018), when one is given. */
  weightDivergence?: number;
}

export interface Progress {
  step: number;
  steps: number;
  loss: number;
  testAccuracy: number | null;
  stepsPerSecond: number;
}

/** What the observer reads of a completed step: every worker's scalars, and the gradients on gradient-metrics steps. */
export interface CompletedStep {
  step: number;
  startedAt: number;
  samples: number[];
  losses: number[];
  computeMs: number[];
  gradNorms: number[];
  reduceMs: number[];
  /** Every worker's full gradient where it was sent (relay: always; among trainers: on gradient-metrics steps). */
  gradients: (Float32Array | null)[];
  /** A robust --combine rule: per worker, the share of its contribution the rule left out this step; else null. */
  discarded?: number[] | null;
}

export interface ObserverDeps {
  config: RunConfig;
  /** Test accuracy of the given parameters and buffers. */
  evaluate: (params: Float32Array, buffers: Float32Array | null, step: number) => Evaluation | Promise<Evaluation>;
  record: (r: MetricsRecord) => void;
  onProgress?: (p: Progress) => void;
}

/**
 * The metrics side of the step loop: each completed step's record (loss weighted by samples, per-worker
 * figures, gradient cosines every --gradient-metrics-every steps), the evaluation every --eval-every steps,
 * progress, and the figures the summary needs. The step controller (TrainingSession) only hands it steps.
 */
export class StepObserver {
  readonly stepLosses: number[] = [];
  lastEval: (Evaluation & { step: number }) | null = null;
  private computeShareSum = 0;
  private computeShareCount = 0;

  constructor(private readonly deps: ObserverDeps) {}

  /**
   * Records step `st` (the run has now completed `st.step + 1` steps since `runStartedAt`) and evaluates when
   * due, on the parameters `params()` returns and `buffers`.
   */
  async observe(st: CompletedStep, runStartedAt: number, params: () => Float32Array, buffers: Float32Array | null): Promise<void> {
    const { config } = this.deps;
    const completed = st.step + 1;
    // Workers with no samples this step (declared lost under --lost-worker continue) do not count.
    const from = st.samples.flatMap((n, w) => (n > 0 ? [w] : []));
    const total = st.samples.reduce((a, b) => a + b, 0);
    const loss = from.reduce((acc, w) => acc + (st.losses[w]! * st.samples[w]!) / total, 0);
    const now = Date.now();
    const stepMs = now - st.startedAt;
    this.stepLosses.push(loss);
    if (stepMs > 0) {
      const meanCompute = from.reduce((a, w) => a + st.computeMs[w]!, 0) / Math.max(1, from.length);
      this.computeShareSum += Math.min(1, meanCompute / stepMs);
      this.computeShareCount++;
    }
    this.deps.record({
      kind: 'step',
      step: st.step,
      loss,
      workerLoss: [...st.losses],
      samples: total,
      stepMs,
      computeMs: [...st.computeMs],
      elapsedSeconds: (now - runStartedAt) / 1000,
      gradNorm: [...st.gradNorms],
      ...this.gradientMetrics(st, from),
      ...(!collectiveNeeds(config.collective).coordinatorAverages ? { reduceMs: [...st.reduceMs] } : {}),
      ...(st.discarded ? { discarded: st.discarded } : {}),
    });
    if (completed % config.evalEvery === 0 || completed === config.steps) {
      const ev = await this.deps.evaluate(params(), buffers, completed);
      this.lastEval = { ...ev, step: completed };
      this.deps.record({
        kind: 'eval',
        step: completed,
        testAccuracy: ev.accuracy,
        testLoss: ev.loss,
        perClassAccuracy: ev.perClassAccuracy,
        ...(ev.weightDivergence === undefined ? {} : { weightDivergence: ev.weightDivergence }),
      });
    }
    const elapsed = (Date.now() - runStartedAt) / 1000;
    this.deps.onProgress?.({
      step: completed,
      steps: config.steps,
      loss,
      testAccuracy: this.lastEval?.accuracy ?? null,
      stepsPerSecond: elapsed > 0 ? completed / elapsed : 0,
    });
  }

  /** Share of a step's wall time not spent computing gradients, averaged over the steps; null before the first. */
  get communicationShare(): number | null {
    return this.computeShareCount ? 1 - this.computeShareSum / this.computeShareCount : null;
  }

  /** The loss swing over the last --loss-window steps; null before two steps. */
  get lossSwing(): number | null {
    return this.stepLosses.length >= 2 ? lossSwing(this.stepLosses, this.deps.config.lossWindow) : null;
  }

  /** Pairwise gradient cosines, on gradient-metrics steps (every --gradient-metrics-every steps); null elsewhere. */
  private gradientMetrics(st: CompletedStep, from: readonly number[]): { gradCosine: number | null; gradCosinePairs: number[] } {
    const due = st.step % this.deps.config.gradientMetricsEvery === 0 && from.every((w) => st.gradients[w] !== null);
    if (!due) return { gradCosine: null, gradCosinePairs: [] };
    const grads = from.map((w) => st.gradients[w]!);
    return { gradCosine: meanPairwiseCosine(grads), gradCosinePairs: pairwiseCosines(grads) };
  }
}
