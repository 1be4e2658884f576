import type { ArmChartData, Band, ReportData, SeedCurve } from './report-data';
import {
  armTable,
  armTableNotes,
  describeSettings,
  stepsToTarget,
  summarizeArms,
  targetLabel,
  type RunResult,
  type SweepInfo,
} from './results';
import { ARM_PALETTE } from './palette';
import { minMaxIndices } from './series';
import { mean } from './stats';

export { ARM_PALETTE };
export type { ArmChartData, Band, ReportData, SeedCurve };

/*
 * What report.html's charts show, computed here (plain functions) and embedded in the page
 * as JSON; the page's script (src/browser/report.page.ts) only draws it. Curves are averaged
 * over the seeds of an arm, with a min-max band and each seed's own curve, and thinned to at
 * most MAX_POINTS points per curve in a way that keeps every bucket's lowest and highest point.
 */

export const MAX_POINTS = 400;

type Series = { step: number; value: number | null }[];

/**
 * Mean, min and max over several series at each step any of them has (steps where a series
 * has no value are left out of that step's statistics), then thinned by averaging buckets
 * of consecutive points. Null when no series has a value.
 */
export function seedBand(series: readonly Series[], maxPoints = MAX_POINTS): Band | null {
  const byStep = new Map<number, number[]>();
  for (const s of series) {
    for (const p of s) {
      if (p.value === null || !Number.isFinite(p.value)) continue;
      const list = byStep.get(p.step) ?? [];
      list.push(p.value);
      byStep.set(p.step, list);
    }
  }
  if (byStep.size === 0) return null;
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  const full = {
    x: steps,
    mean: steps.map((s) => mean(byStep.get(s)!)),
    min: steps.map((s) => Math.min(...byStep.get(s)!)),
    max: steps.map((s) => Math.max(...byStep.get(s)!)),
  };
  return thinBand({ ...full, bucket: 1 }, maxPoints);
}

/**
 * At most ~maxPoints points: the steps are cut into buckets, each keeping the points where the mean
 * is lowest and highest (so a one-step spike survives, as averaging would not), with the band
 * widened to the lowest min and highest max of the whole bucket.
 */
function thinBand(full: Band, maxPoints: number): Band {
  const n = full.x.length;
  const bucket = n <= maxPoints ? 1 : Math.ceil(n / Math.max(1, Math.floor(maxPoints / 2)));
  if (bucket === 1) return full;
  const out: Band = { x: [], mean: [], min: [], max: [], bucket };
  for (const [start, end] of chunkBounds(n, bucket)) {
    const low = minOf(full.min.slice(start, end));
    const high = maxOf(full.max.slice(start, end));
    for (const i of minMaxIndices(full.mean.slice(start, end), 2)) {
      out.x.push(full.x[start + i]!);
      out.mean.push(full.mean[start + i]!);
      out.min.push(low);
      out.max.push(high);
    }
  }
  return out;
}

const finite = (xs: readonly (number | null)[]) => xs.filter((v): v is number => v !== null && Number.isFinite(v));
const minOf = (xs: readonly (number | null)[]) => (finite(xs).length ? Math.min(...finite(xs)) : null);
const maxOf = (xs: readonly (number | null)[]) => (finite(xs).length ? Math.max(...finite(xs)) : null);

function chunkBounds(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < n; i += size) out.push([i, Math.min(n, i + size)]);
  return out;
}

/** One series thinned the same way (min and max of each bucket kept). */
export function thinSeries(series: Series, maxPoints = MAX_POINTS): { x: number[]; y: (number | null)[] } {
  const keep = minMaxIndices(series.map((p) => p.value), maxPoints);
  return { x: keep.map((i) => series[i]!.step), y: keep.map((i) => round(series[i]!.value)) };
}

const round = (x: number | null, digits = 5): number | null => (x === null || !Number.isFinite(x) ? null : +x.toFixed(digits));

function roundBand(b: Band | null): Band | null {
  return b && { ...b, mean: b.mean.map((v) => round(v)), min: b.min.map((v) => round(v)), max: b.max.map((v) => round(v)) };
}

const pct = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? (100 * x).toFixed(1) : '-');
const fixed = (x: number | null | undefined, d: number) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');

/** Dash patterns for lines, solid first. */
export const ARM_DASHES: number[][] = [[], [7, 3], [2, 2.5], [9, 3, 2, 3]];
/** Up to this many arms, every arm gets its own hue from ARM_PALETTE. */
export const DISTINCT_ARMS = ARM_PALETTE.length;

/** The family of an arm: its name up to the first - or _ (the whole name if it has none). */
export function armFamily(name: string): string {
  return name.split(/[-_]/)[0] || name;
}

/** Mixes a #rrggbb colour toward black (t < 0) or white (t > 0) by |t|. */
function shade(hex: string, t: number): string {
  const n = parseInt(hex.slice(1), 16);
  const target = t < 0 ? 0 : 255;
  const mix = (c: number) => Math.round(c + (target - c) * Math.abs(t));
  return '#' + [n >> 16, (n >> 8) & 255, n & 255].map((c) => mix(c).toString(16).padStart(2, '0')).join('');
}

/**
 * Colour and dash per arm, in order, kept apart for 2 to ~40 arms. Up to DISTINCT_ARMS arms:
 * one palette hue each, solid. More arms: one hue per family when the names form 2 to 10
 * families and some family has several arms; within a family the arms differ in shade (dark to
 * light) and, in large families, in dash (consecutive arms share a dash, so the sweep's outer
 * setting changes the dash). Otherwise the palette repeats with a new dash every ten arms.
 */
export function armStyles(names: readonly string[]): { family: string; color: string; dash: number[] }[] {
  const families = names.map(armFamily);
  const order = [...new Set(families)];
  const byFamily = order.length >= 2 && order.length <= ARM_PALETTE.length && order.length < names.length;
  if (names.length <= DISTINCT_ARMS || !byFamily) {
    return names.map((_, i) => ({ family: families[i]!, color: ARM_PALETTE[i % ARM_PALETTE.length]!, dash: ARM_DASHES[Math.floor(i / ARM_PALETTE.length) % ARM_DASHES.length]! }));
  }
  const seen = new Map<string, number>();
  return names.map((_, i) => {
    const family = families[i]!;
    const size = families.filter((f) => f === family).length;
    const j = seen.get(family) ?? 0;
    seen.set(family, j + 1);
    const dashes = size <= 3 ? 1 : Math.min(ARM_DASHES.length, Math.ceil(size / 4));
    const shades = Math.ceil(size / dashes);
    const s = j % shades;
    // Shades from 42% toward black to 35% toward white; one arm alone keeps the palette colour.
    const t = shades === 1 ? 0 : -0.42 + (0.77 * s) / (shades - 1);
    return { family, color: shade(ARM_PALETTE[order.indexOf(family)]!, t), dash: ARM_DASHES[Math.floor(j / shades) % ARM_DASHES.length]! };
  });
}

function armData(name: string, settings: string, style: { family: string; color: string; dash: number[] }, runs: readonly RunResult[]): ArmChartData {
  const completed = runs.filter((r) => r.status === 'completed');
  const shown = completed.length ? completed : runs;
  const loss = seedBand(shown.map((r) => r.steps.map((s) => ({ step: s.step, value: s.loss }))));
  const workers = Math.max(0, ...shown.map((r) => Math.max(0, ...r.steps.map((s) => s.workerLoss.length))));
  const workerBands = Array.from({ length: workers }, (_, w) => seedBand(shown.map((r) => r.steps.map((s) => ({ step: s.step, value: s.workerLoss[w] ?? null })))));
  const classes = Math.max(0, ...completed.map((r) => r.summary?.perClassAccuracy?.length ?? 0));
  const perClass = Array.from({ length: classes }, (_, c) =>
    completed.map((r) => r.summary?.perClassAccuracy?.[c]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)),
  );
  const withHistogram = runs.find((r) => r.histogram !== null);
  const evalSteps = [...new Set(shown.flatMap((r) => r.evals.map((e) => e.step)))].sort((a, b) => a - b);
  const classCount = Math.max(0, ...shown.flatMap((r) => r.evals.map((e) => e.perClassAccuracy.length)));
  const perClassCurves = Array.from({ length: classCount }, (_, c) =>
    evalSteps.map((step) => {
      const values = shown.map((r) => r.evals.find((e) => e.step === step)?.perClassAccuracy[c]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      return values.length ? round(mean(values)) : null;
    }),
  );
  return {
    name,
    settings,
    ...style,
    seeds: shown.map((r) => r.seed),
    loss: roundBand(loss),
    workerLossX: workerBands[0]?.x ?? [],
    workerLoss: workerBands.map((b) => (b ? b.mean.map((v) => round(v)) : [])),
    accuracy: roundBand(seedBand(shown.map((r) => r.evals.map((e) => ({ step: e.step, value: e.testAccuracy }))))),
    // One seed alone is its mean: no separate curve.
    seedLoss: shown.length > 1 ? shown.map((r) => ({ seed: r.seed, ...thinSeries(r.steps.map((p) => ({ step: p.step, value: p.loss }))) })) : [],
    seedAccuracy: shown.length > 1 ? shown.map((r) => ({ seed: r.seed, ...thinSeries(r.evals.map((e) => ({ step: e.step, value: e.testAccuracy }))) })) : [],
    perClassX: evalSteps,
    perClassCurves,
    cosine: roundBand(seedBand(shown.map((r) => r.steps.map((s) => ({ step: s.step, value: s.gradCosine }))))),
    divergence: roundBand(seedBand(shown.map((r) => r.evals.map((e) => ({ step: e.step, value: e.weightDivergence ?? null }))))),
    perClassMean: perClass.map((v) => (v.length ? round(mean(v)) : null)),
    perClassStd: perClass.map((v) => {
      if (v.length < 2) return null;
      const m = mean(v);
      return round(Math.sqrt(mean(v.map((x) => (x - m) ** 2))));
    }),
    histogram: withHistogram ? { ...withHistogram.histogram!, seed: withHistogram.seed } : null,
  };
}

/** Everything report.html shows, from the sweep's description and its runs. */
/** Where a run was made, from config.json's provenance: `shardlab 0.1.0 @ 1a2b3c4 · host · native`. */
function madeWith(r: RunResult): string {
  const p = r.config?.['provenance'] as { shardlab?: string; commit?: string | null; host?: string } | undefined;
  if (!p) return '-';
  const commit = p.commit ? ` @ ${p.commit.slice(0, 7)}${p.commit.endsWith('+changes') ? '+changes' : ''}` : '';
  return [`shardlab ${p.shardlab ?? '?'}${commit}`, p.host, r.summary?.backend].filter(Boolean).join(' · ');
}

export function buildReportData(info: SweepInfo, runs: readonly RunResult[]): ReportData {
  const armNames = [...info.arms.map((a) => a.name), ...new Set(runs.map((r) => r.arm).filter((a) => !info.arms.some((x) => x.name === a)))];
  const settingsOf = (name: string) => describeSettings(info.arms.find((a) => a.name === name)?.settings ?? {});
  const styles = armStyles(armNames);
  const arms = armNames.map((name, i) => armData(name, settingsOf(name), styles[i]!, runs.filter((r) => r.arm === name)));
  const classNames = runs.reduce<string[]>((best, r) => (r.classNames.length > best.length ? r.classNames : best), []);
  const table = armTable(summarizeArms(runs, armNames, info.target), info.target);
  const target = info.target;
  return {
    title: info.name,
    description: info.description,
    dataset: info.dataset,
    date: info.date,
    seeds: info.seeds,
    target,
    reference: info.reference,
    base: describeSettings(info.base),
    classNames,
    arms,
    table: { ...table, notes: armTableNotes(info, runs) },
    runHeader: ['arm', 'seed', 'status', 'steps', 'final acc %', 'worst class %', 'final loss', 'loss swing', target === null ? 'steps to target' : `steps to ${targetLabel(target)}`, 'wall s', 'started', 'ended', 'made with'],
    runs: runs.map((r) => {
      const s = r.summary;
      const reached = target === null || r.status !== 'completed' ? null : stepsToTarget(r.evals, target);
      return {
        arm: r.arm,
        seed: r.seed,
        status: r.status,
        cells: [
          r.arm,
          String(r.seed),
          r.status === 'completed' ? 'completed' : `failed: ${r.error ?? ''}`,
          s ? `${s.stepsCompleted}/${s.steps}` : '-',
          pct(s?.finalTestAccuracy),
          pct(s?.worstClassAccuracy),
          fixed(s?.finalLoss, 3),
          fixed(s?.lossSwing, 3),
          target === null || r.status !== 'completed' ? '-' : reached === null ? 'not reached' : String(reached),
          fixed(s?.wallSeconds, 1),
          typeof r.config?.['startedAt'] === 'string' ? r.config['startedAt'] : '-',
          typeof s?.endedAt === 'string' ? s.endedAt : '-',
          madeWith(r),
        ],
      };
    }),
    failed: runs.filter((r) => r.status !== 'completed').map((r) => ({ arm: r.arm, seed: r.seed, error: r.error ?? 'failed' })),
  };
}
