/**
 * The records of metrics.jsonl, one JSON object per line: the one schema that the step engine writes
 * (@shardlab/experiment), the report reads (results.ts) and the end-to-end tests check.
 */

export interface StepRecord {
  kind: 'step';
  step: number;
  loss: number;
  workerLoss: number[];
  samples: number;
  stepMs: number;
  computeMs: number[];
  elapsedSeconds: number;
  /** L2 norm of each worker's gradient. */
  gradNorm: number[];
  /** Mean cosine similarity over all pairs of worker gradients (null with one worker, and off gradient-metrics steps). */
  gradCosine: number | null;
  /** Cosine similarity of each pair of worker gradients: (0,1), (0,2), ..., (1,2), ... (empty when not computed). */
  gradCosinePairs: number[];
  /** Ring: each worker's time in the all-reduce of the step before (a step is reported while its own all-reduce runs). */
  reduceMs?: number[];
}

export interface EvalRecord {
  kind: 'eval';
  step: number;
  testAccuracy: number;
  testLoss: number;
  perClassAccuracy: number[];
  weightDivergence?: number;
}

export interface EventRecord {
  kind: 'event';
  step: number;
  event: 'joined' | 'refused' | 'checksum' | 'stopped' | 'lost' | 'reformed';
  message: string;
  worker?: number;
}

export type MetricsRecord = StepRecord | EvalRecord | EventRecord;
