import { formatTable, pct } from './table';

/** What `summary.json` holds for one run. */
export interface RunSummary {
  status: 'completed' | 'failed';
  error: string | null;
  strategy: string;
  dataset: string;
  workers: number;
  batchSize: number;
  steps: number;
  stepsCompleted: number;
  optimizer: string;
  lr: number;
  aggregation: string;
  /** relay | ring | halving-doubling: how gradients were averaged. */
  collective: string;
  /** ids | features: how batches reached the trainers. */
  feed: string;
  localSteps: number;
  model: string;
  norm: string;
  seed: number;
  finalTestAccuracy: number | null;
  perClassAccuracy: number[] | null;
  classNames: string[];
  worstClassAccuracy: number | null;
  finalLoss: number | null;
  lossSwing: number | null;
  backend: string;
  trainerBackends: string[];
  wallSeconds: number;
  stepsPerSecond: number;
  /** Share of a step's wall time not spent computing gradients (transport, waiting, averaging). */
  communicationShare: number | null;
  /** Requests refused during the run, by kind ('no token', 'not a member', 'oversized Join' ...). */
  refused?: Record<string, number>;
  /** Workers declared lost (--lost-worker continue); the run went on without them. */
  lostWorkers?: number[];
  /** Trainers that took a lost worker's place (--lost-worker replace). */
  replacements?: number;
  /** When the run ended (ISO 8601); config.json's startedAt says when it started. */
  endedAt?: string;
  /** The step of the last checkpoint.bin a run that did not complete wrote: `--resume DIR` continues from it. */
  checkpointStep?: number | null;
  /**
   * The longest event-loop delay, in ms, of the coordinator and of each worker's trainer (perf_hooks'
   * monitorEventLoopDelay): a loop held longer than the keepalive timeout (--keepalive-timeout) drops connections.
   */
  eventLoopDelayMs?: { coordinator: number; workers: number[] };
}

/** The seed-question table: one row per run. */
export function formatComparison(runs: readonly RunSummary[], classNames?: readonly string[]): string {
  const classes = Math.max(0, ...runs.map((r) => r.perClassAccuracy?.length ?? 0));
  const classHeader = Array.from({ length: classes }, (_, c) => `acc[${classNames?.[c] ?? c}]`);
  const header = ['strategy', 'test acc %', ...classHeader, 'worst class %', 'final loss', 'loss swing', 'steps/s'];
  const rows = runs.map((r) => [
    r.status === 'completed' ? r.strategy : `${r.strategy} (FAILED)`,
    pct(r.finalTestAccuracy),
    ...Array.from({ length: classes }, (_, c) => pct(r.perClassAccuracy?.[c])),
    pct(r.worstClassAccuracy),
    r.finalLoss === null ? '-' : r.finalLoss.toFixed(3),
    r.lossSwing === null ? '-' : r.lossSwing.toFixed(3),
    r.stepsPerSecond.toFixed(1),
  ]);
  return formatTable(header, rows);
}

/** For a run that stopped after writing a checkpoint: the line that says how to continue it (else ''). */
export function resumeHint(summary: Pick<RunSummary, 'checkpointStep'>, command: string): string {
  return summary.checkpointStep === null || summary.checkpointStep === undefined ? '' : `continue it from step ${summary.checkpointStep}: ${command}\n`;
}
