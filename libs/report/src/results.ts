import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mean, std } from './stats';
import type { EvalRecord, StepRecord } from './records';
import type { RunSummary } from './summary';

/*
 * Sweep results: read the run directories of a sweep (config.json, summary.json, metrics.jsonl,
 * label-histogram.json) and turn them into results.csv (one row per run) and results.md (one
 * row per arm, mean ± std over seeds). Everything but the readers is a plain function.
 */

/** What the report says about the sweep as a whole (the sweep file, resolved). */
export interface SweepInfo {
  name: string;
  description: string;
  /** The data the runs use, in words (e.g. "synthetic 4-class data"). */
  dataset: string;
  /** Accuracy target for "steps to reach target", or null. */
  target: number | null;
  /** The arm that is the IID reference for weight divergence, or null. */
  reference: string | null;
  seeds: number[];
  /** Arms in the sweep file's order, with the settings each sets on top of `base`. */
  arms: { name: string; settings: Record<string, unknown> }[];
  base: Record<string, unknown>;
  /** When the results were made (ISO time). */
  date: string;
}

/** One run of a sweep: where its files are, and the error if the run threw before writing summary.json. */
export interface RunRef {
  arm: string;
  seed: number;
  dir: string;
  error?: string | null;
}

/** The fields of a step record (records.ts) that the report draws. */
export type StepPoint = Pick<StepRecord, 'step' | 'loss' | 'workerLoss' | 'gradCosine' | 'elapsedSeconds'>;

/** The fields of an eval record (records.ts) that the report draws; weightDivergence null when not recorded. */
export type EvalPoint = Pick<EvalRecord, 'step' | 'testAccuracy' | 'testLoss' | 'perClassAccuracy'> & { weightDivergence?: number | null };

import type { LabelHistogram } from './report-data';

export type { LabelHistogram };

export interface RunResult {
  arm: string;
  seed: number;
  dir: string;
  status: 'completed' | 'failed';
  error: string | null;
  /** summary.json (with any fields added later), or null when the run wrote none. */
  summary: (RunSummary & Record<string, unknown>) | null;
  /** config.json, or null. */
  config: Record<string, unknown> | null;
  classNames: string[];
  steps: StepPoint[];
  evals: EvalPoint[];
  histogram: LabelHistogram | null;
}

/** Mean and population standard deviation over `n` values. */
export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

export interface ArmSummary {
  arm: string;
  runs: number;
  completed: number;
  finalAccuracy: MeanStd | null;
  worstClassAccuracy: MeanStd | null;
  perClassAccuracy: (MeanStd | null)[];
  lossSwing: MeanStd | null;
  finalLoss: MeanStd | null;
  /** Over the completed runs that reached the target. */
  stepsToTarget: MeanStd | null;
  /** How many completed runs reached the target. */
  reached: number;
}

// ---- reading ---------------------------------------------------------------------------------

/** The step and eval records of a metrics.jsonl; a torn last line (a killed run) is skipped. */
export function parseMetrics(text: string): { steps: StepPoint[]; evals: EvalPoint[] } {
  const steps: StepPoint[] = [];
  const evals: EvalPoint[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (r['kind'] === 'step' && typeof r['loss'] === 'number') {
      steps.push({
        step: Number(r['step']),
        loss: r['loss'],
        workerLoss: Array.isArray(r['workerLoss']) ? (r['workerLoss'] as number[]) : [],
        gradCosine: typeof r['gradCosine'] === 'number' ? r['gradCosine'] : null,
        elapsedSeconds: typeof r['elapsedSeconds'] === 'number' ? r['elapsedSeconds'] : NaN,
      });
    } else if (r['kind'] === 'eval' && typeof r['testAccuracy'] === 'number') {
      const e: EvalPoint = {
        step: Number(r['step']),
        testAccuracy: r['testAccuracy'],
        testLoss: Number(r['testLoss']),
        perClassAccuracy: Array.isArray(r['perClassAccuracy']) ? (r['perClassAccuracy'] as number[]) : [],
      };
      if (typeof r['weightDivergence'] === 'number') e.weightDivergence = r['weightDivergence'];
      evals.push(e);
    }
  }
  return { steps, evals };
}

/** Checks the shape of a label-histogram.json value; returns why it is wrong, or null when it is fine. */
export function checkLabelHistogram(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const { classNames, perWorker } = value as Record<string, unknown>;
  if (!Array.isArray(classNames) || !classNames.every((c) => typeof c === 'string')) return 'classNames must be a list of strings';
  if (!Array.isArray(perWorker) || perWorker.length === 0) return 'perWorker must be a non-empty list (one entry per worker)';
  for (const [w, counts] of perWorker.entries()) {
    if (!Array.isArray(counts) || counts.length !== classNames.length || !counts.every((n) => typeof n === 'number' && n >= 0)) {
      return `perWorker[${w}] must hold ${classNames.length} counts >= 0 (one per class)`;
    }
  }
  const { firstSteps } = value as Record<string, unknown>;
  if (firstSteps !== undefined) {
    const ok = (counts: unknown) => Array.isArray(counts) && counts.length === classNames.length && counts.every((n) => typeof n === 'number' && n >= 0);
    if (!Array.isArray(firstSteps) || !firstSteps.every((step) => Array.isArray(step) && step.every(ok))) {
      return `firstSteps must be a list of steps, each a list of workers' ${classNames.length} class counts`;
    }
  }
  return null;
}

function readJson(path: string): unknown {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as unknown) : undefined;
}

/** Reads one run directory. Missing or unreadable files make a failed run, never an exception. */
export function readRun(ref: RunRef): RunResult {
  const problems: string[] = [];
  const read = (file: string): unknown => {
    try {
      return readJson(join(ref.dir, file));
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const summary = (read('summary.json') ?? null) as RunResult['summary'];
  const config = (read('config.json') ?? null) as Record<string, unknown> | null;
  let metrics: { steps: StepPoint[]; evals: EvalPoint[] } = { steps: [], evals: [] };
  const metricsPath = join(ref.dir, 'metrics.jsonl');
  if (existsSync(metricsPath)) metrics = parseMetrics(readFileSync(metricsPath, 'utf8'));
  const rawHistogram = read('label-histogram.json');
  let histogram: LabelHistogram | null = null;
  if (rawHistogram !== undefined) {
    const wrong = checkLabelHistogram(rawHistogram);
    if (wrong) problems.push(`label-histogram.json: ${wrong}`);
    else histogram = rawHistogram as LabelHistogram;
  }

  const classCount = Math.max(summary?.perClassAccuracy?.length ?? 0, metrics.evals.at(-1)?.perClassAccuracy.length ?? 0);
  const names = [config?.['classNames'], summary?.classNames, histogram?.classNames].find((n): n is string[] => Array.isArray(n)) ?? [];
  const classNames = Array.from({ length: Math.max(classCount, names.length) }, (_, c) => names[c] ?? `class ${c}`);

  const completed = summary?.status === 'completed';
  const error = completed
    ? null
    : (ref.error ??
      summary?.error ??
      (summary ? 'failed' : `unfinished: no summary.json in ${ref.dir} (still running, or killed)${problems.length ? `; ${problems.join('; ')}` : ''}`));
  return { arm: ref.arm, seed: ref.seed, dir: ref.dir, status: completed ? 'completed' : 'failed', error, summary, config, classNames, ...metrics, histogram };
}

// ---- aggregation -----------------------------------------------------------------------------

/** The first evaluation step whose test accuracy is at least `target`; null if none is. */
export function stepsToTarget(evals: readonly EvalPoint[], target: number): number | null {
  return evals.find((e) => e.testAccuracy >= target)?.step ?? null;
}

/** Mean ± std over the values that are numbers (nulls, NaN skipped); null when there are none. */
export function meanStd(values: readonly (number | null | undefined)[]): MeanStd | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && !Number.isNaN(v));
  return xs.length ? { mean: mean(xs), std: std(xs), n: xs.length } : null;
}

/** One summary per arm (in `arms` order; arms with no runs included), over its completed runs. */
export function summarizeArms(runs: readonly RunResult[], arms: readonly string[], target: number | null): ArmSummary[] {
  return arms.map((arm) => {
    const all = runs.filter((r) => r.arm === arm);
    const done = all.filter((r) => r.status === 'completed');
    const classes = Math.max(0, ...done.map((r) => r.summary?.perClassAccuracy?.length ?? 0));
    const reachedSteps = target === null ? [] : done.map((r) => stepsToTarget(r.evals, target)).filter((s): s is number => s !== null);
    return {
      arm,
      runs: all.length,
      completed: done.length,
      finalAccuracy: meanStd(done.map((r) => r.summary?.finalTestAccuracy)),
      worstClassAccuracy: meanStd(done.map((r) => r.summary?.worstClassAccuracy)),
      perClassAccuracy: Array.from({ length: classes }, (_, c) => meanStd(done.map((r) => r.summary?.perClassAccuracy?.[c]))),
      lossSwing: meanStd(done.map((r) => r.summary?.lossSwing)),
      finalLoss: meanStd(done.map((r) => r.summary?.finalLoss)),
      stepsToTarget: meanStd(reachedSteps),
      reached: reachedSteps.length,
    };
  });
}

// ---- results.csv -----------------------------------------------------------------------------

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'number' && Number.isNaN(value) ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** What config.json says of a run that is not a setting (it differs between any two runs). */
export const RUN_IDENTITY = ['runId', 'startedAt', 'strategyDescription'];

export const isScalar = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/**
 * One row per run: arm, seed, status, every scalar field of summary.json (in the order they
 * first appear, so fields added to summaries later show up), per-class accuracy, the target
 * and the steps to reach it (empty: not reached), and the run directory.
 */
export function formatResultsCsv(runs: readonly RunResult[], target: number | null): string {
  const own = ['arm', 'seed', 'status', 'error', 'target', 'stepsToTarget', 'dir'];
  const fields: string[] = [];
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.summary ?? {})) if (isScalar(v) && !fields.includes(k) && !own.includes(k)) fields.push(k);
  }
  // The settings that tell the runs apart (config.json's values that differ between them: runLength, alpha,
  // hidden, momentum, faults ...), so a table needs no parsing of arm names; those summary.json has are there.
  const setting = (r: RunResult, k: string): unknown => {
    const v = r.config?.[k];
    return Array.isArray(v) ? v.join(' ') : v;
  };
  const settings: string[] = [];
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.config ?? {})) {
      if (settings.includes(k) || fields.includes(k) || own.includes(k) || RUN_IDENTITY.includes(k) || !(isScalar(v) || Array.isArray(v))) continue;
      if (new Set(runs.map((x) => JSON.stringify(setting(x, k) ?? null))).size > 1) settings.push(k);
    }
  }
  const classNames = runs.reduce<string[]>((best, r) => (r.classNames.length > best.length ? r.classNames : best), []);
  const header = ['arm', 'seed', 'status', 'error', ...fields, ...settings, ...classNames.map((c) => `acc[${c}]`), 'target', 'stepsToTarget', 'dir'];
  const rows = runs.map((r) => [
    r.arm,
    r.seed,
    r.status,
    r.error,
    ...fields.map((k) => r.summary?.[k]),
    ...settings.map((k) => setting(r, k)),
    ...classNames.map((_, c) => r.summary?.perClassAccuracy?.[c]),
    target,
    target === null || r.status !== 'completed' ? null : stepsToTarget(r.evals, target),
    r.dir,
  ]);
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

// ---- results.md ------------------------------------------------------------------------------

/** `91.2 ± 0.4` (std omitted for a single value); `-` for null. `scale` 100 shows fractions as percent. */
export function formatMeanStd(m: MeanStd | null, digits: number, scale = 1): string {
  if (!m) return '-';
  const value = (m.mean * scale).toFixed(digits);
  return m.n > 1 ? `${value} ± ${(m.std * scale).toFixed(digits)}` : value;
}

/** The steps-to-target cell: `150 ± 25`, `175 (2/3 reached)`, `not reached`, or `-` without a target. */
export function formatStepsToTarget(a: ArmSummary, target: number | null): string {
  if (target === null || a.completed === 0) return '-';
  if (a.reached === 0) return 'not reached';
  const value = formatMeanStd(a.stepsToTarget, 0);
  return a.reached < a.completed ? `${value} (${a.reached}/${a.completed} reached)` : value;
}

/** Markdown table with padded cells, so it also reads well as plain text. */
export function formatMarkdownTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => '| ' + cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (rightAligned[i] ? '-'.repeat(w + 1) + ':' : ':' + '-'.repeat(w + 1))).join('|') + '|';
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function targetLabel(target: number): string {
  return `${+(100 * target).toFixed(1)}%`;
}

/** Header and cells of the per-arm table (shared by results.md and report.html). */
export function armTable(arms: readonly ArmSummary[], target: number | null): { header: string[]; rows: string[][]; rightAligned: boolean[] } {
  const header = ['arm', 'runs', 'final acc %', 'worst class %', 'loss swing', target === null ? 'steps to target' : `steps to ${targetLabel(target)}`, 'final loss'];
  const rows = arms.map((a) => [
    a.arm,
    a.completed === a.runs ? String(a.runs) : `${a.completed}/${a.runs} ok`,
    formatMeanStd(a.finalAccuracy, 1, 100),
    formatMeanStd(a.worstClassAccuracy, 1, 100),
    formatMeanStd(a.lossSwing, 3),
    formatStepsToTarget(a, target),
    formatMeanStd(a.finalLoss, 3),
  ]);
  return { header, rows, rightAligned: [false, true, true, true, true, true, true] };
}

/** Explains the table's columns. */
export function armTableNotes(info: SweepInfo, runs: readonly RunResult[]): string[] {
  const windows = [...new Set(runs.map((r) => r.config?.['lossWindow']).filter((w) => typeof w === 'number'))];
  const evalEvery = [...new Set(runs.map((r) => r.config?.['evalEvery']).filter((w) => typeof w === 'number'))];
  return [
    `Mean ± std (population) over the completed seeds (${info.seeds.join(', ')}); runs that did not complete are left out and listed below.`,
    'final acc: test accuracy at the end; worst class: the lowest per-class test accuracy at the end.',
    `loss swing: std of the training loss over the last ${windows.length ? windows.join('/') : 'lossWindow'} steps; final loss: training loss of the last step.`,
    info.target === null
      ? 'steps to target: no target set in the sweep file.'
      : `steps to ${targetLabel(info.target)}: the first evaluation step (every ${evalEvery.length ? evalEvery.join('/') : 'evalEvery'} steps) with test accuracy >= ${targetLabel(info.target)}; mean over the seeds that reached it.`,
  ];
}

/** results.md: what the sweep was, then one row per arm. */
export function formatResultsMarkdown(info: SweepInfo, runs: readonly RunResult[]): string {
  const arms = summarizeArms(runs, info.arms.map((a) => a.name), info.target);
  const { header, rows, rightAligned } = armTable(arms, info.target);
  const failed = runs.filter((r) => r.status !== 'completed');
  const lines = [
    `# Sweep ${info.name}`,
    '',
    ...(info.description ? [info.description, ''] : []),
    `- data: ${info.dataset}`,
    `- seeds: ${info.seeds.join(', ')}; target accuracy: ${info.target === null ? '-' : targetLabel(info.target)}${info.reference ? `; reference arm: ${info.reference}` : ''}`,
    `- arms: ${info.arms.map((a) => `${a.name} (${describeSettings(a.settings)})`).join('; ')}`,
    `- made: ${info.date}`,
    '',
    formatMarkdownTable(header, rows, rightAligned),
    '',
    ...armTableNotes(info, runs),
  ];
  if (failed.length) lines.push('', '## Runs that did not complete', '', ...failed.map((r) => `- ${r.arm} seed ${r.seed}: ${r.error ?? 'failed'}`));
  return lines.join('\n') + '\n';
}

/** `strategy=iid, runLength=2` */
export function describeSettings(settings: Record<string, unknown>): string {
  const parts = Object.entries(settings).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  return parts.length ? parts.join(', ') : 'base settings';
}

/** Writes results.csv and results.md into `dir`; returns their paths. */
export function writeResults(dir: string, info: SweepInfo, runs: readonly RunResult[]): { csv: string; markdown: string } {
  const csv = join(dir, 'results.csv');
  const markdown = join(dir, 'results.md');
  writeFileSync(csv, formatResultsCsv(runs, info.target));
  writeFileSync(markdown, formatResultsMarkdown(info, runs));
  return { csv, markdown };
}
