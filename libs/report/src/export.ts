import { RUN_IDENTITY, csvCell, isScalar, type RunResult } from './results';

/*
 * `shardlab export`: every run of any directories as one long ("tidy") table, the shape pandas, R and
 * spreadsheets pivot from: one row per run x measurement, with every setting of the run as a column.
 *
 *   kind   train | eval | run (a run with no measurement: failed before its first step)
 *   step   the parameter updates done before the measurement: a train row's loss at step t was computed on the
 *          parameters after t updates, as is an eval row's test accuracy at step t, so a join on (run, step)
 *          pairs values of the same parameters
 *   metric loss, grad_cosine, elapsed_seconds (train); test_accuracy, test_loss, class_accuracy,
 *          weight_divergence (eval)
 *   worker the worker of a per-worker value (loss of one worker), else empty
 *   class  the class name of a per-class value, else empty
 */

/** The columns every row has, before the settings. */
const RUN_COLUMNS = ['run', 'arm', 'seed', 'status', 'error'] as const;
const MEASUREMENT_COLUMNS = ['kind', 'step', 'metric', 'worker', 'class', 'value'] as const;

/** config.json keys that are no setting (they differ between any two runs) or no value for a cell. */
const NOT_SETTINGS = new Set([...RUN_IDENTITY, 'classNames', 'seed']);

/** The settings columns: every scalar or list key of any run's config.json, in the order first seen. */
function settingColumns(runs: readonly RunResult[]): string[] {
  const keys: string[] = [];
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.config ?? {})) {
      if (!keys.includes(k) && !NOT_SETTINGS.has(k) && (isScalar(v) || Array.isArray(v))) keys.push(k);
    }
  }
  return keys;
}

type Measurement = [kind: string, step: number | null, metric: string, worker: number | null, className: string | null, value: number | null];

function* measurements(r: RunResult): Generator<Measurement> {
  for (const s of r.steps) {
    yield ['train', s.step, 'loss', null, null, s.loss];
    for (const [w, loss] of (s.workerLoss ?? []).entries()) yield ['train', s.step, 'loss', w, null, loss];
    if (s.gradCosine !== undefined && s.gradCosine !== null) yield ['train', s.step, 'grad_cosine', null, null, s.gradCosine];
    if (Number.isFinite(s.elapsedSeconds)) yield ['train', s.step, 'elapsed_seconds', null, null, s.elapsedSeconds];
  }
  for (const e of r.evals) {
    yield ['eval', e.step, 'test_accuracy', null, null, e.testAccuracy];
    yield ['eval', e.step, 'test_loss', null, null, e.testLoss];
    for (const [c, a] of e.perClassAccuracy.entries()) yield ['eval', e.step, 'class_accuracy', null, r.classNames[c] ?? `class ${c}`, a];
    if (e.weightDivergence !== undefined && e.weightDivergence !== null) yield ['eval', e.step, 'weight_divergence', null, null, e.weightDivergence];
  }
}

/** completed | failed | unfinished (no summary.json: still going, or killed) | broken (no config.json: settings unknown). */
export function exportStatus(r: RunResult): string {
  return !r.config ? 'broken' : !r.summary ? 'unfinished' : r.status;
}

/**
 * The long table as CSV lines (header first), run by run, so a large export is written as it is made.
 * A run without measurements (broken, or stopped before its first step) still has one row: kind `run`.
 */
export function* longTableLines(runs: readonly RunResult[]): Generator<string> {
  const settings = settingColumns(runs);
  yield [...RUN_COLUMNS, ...settings, ...MEASUREMENT_COLUMNS].join(',');
  for (const r of runs) {
    const head = [r.dir, r.arm, r.seed, exportStatus(r), r.error, ...settings.map((k) => (Array.isArray(r.config?.[k]) ? (r.config[k] as unknown[]).join(' ') : r.config?.[k]))]
      .map(csvCell)
      .join(',');
    let any = false;
    for (const m of measurements(r)) {
      any = true;
      yield `${head},${m.map(csvCell).join(',')}`;
    }
    if (!any) yield `${head},run,,,,,`;
  }
}
