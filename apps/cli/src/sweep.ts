import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FlagError,
  describeError,
  formatOptionHelp,
  isRunComplete,
  loadSweepFile,
  parseFlags,
  recordedConfigDiff,
  resolveOptions,
  type OptionSpec,
  type SweepPlan,
  type SweepRun,
} from '@shardlab/experiment';
import type { DashboardHub } from '@shardlab/dashboard';
import { ProgressLine, formatDuration, readRun, writeJsonFile, writeReportHtml, writeResults, type SweepInfo } from '@shardlab/report';
import { DASHBOARD_OPTIONS, openDashboard } from '@shardlab/dashboard';
import { runEmbedded } from './embedded';

const SWEEP_OPTIONS: readonly OptionSpec[] = [
  { key: 'out', type: 'string', valueHint: 'DIR', help: 'sweep directory (default: runs/sweep-<name>)' },
  { key: 'quiet', type: 'bool', default: false, help: 'no per-run progress; only one line per run and the overall progress' },
  ...DASHBOARD_OPTIONS,
];

export const SWEEP_USAGE = `Usage: shardlab sweep FILE [options]

Runs every arm x seed of a sweep file (YAML or JSON, e.g. experiments/smoke.yaml), one run
after another in embedded mode, each into <dir>/<arm>/seed-<seed>/. Resumable: a run whose
summary.json says completed is kept, so rerunning the command continues where it stopped.
A failed run is recorded and the sweep goes on. Then writes, into the sweep directory:
  results.csv   one row per run (every summary field, per-class accuracy, steps to target)
  results.md    one row per arm: mean ± std over seeds (also printed)
  report.html   charts and tables in one self-contained file (opens offline)
Exit code 1 if any run failed.

Sweep file keys: name, description, base (settings for every arm), seeds, target (accuracy
for "steps to reach target"), reference (arm for weight divergence), arms (each: name and
settings). Settings are those of 'shardlab run --help', as camelCase keys (batchSize: 128);
dataset: auto means Fashion-MNIST classes 0-3 when installed, else synthetic data.

Options:
${formatOptionHelp(SWEEP_OPTIONS)}
  -h, --help`;

/** What the report needs to know about the sweep, from its plan. */
function sweepInfo(plan: SweepPlan): SweepInfo {
  return {
    name: plan.name,
    description: plan.description,
    dataset: plan.dataset.description,
    target: plan.target,
    reference: plan.reference,
    seeds: plan.seeds,
    arms: plan.arms,
    base: plan.base,
    date: new Date().toISOString(),
  };
}

/** Overall progress: runs done of total, elapsed, and an ETA from the seconds per step so far. */
class SweepProgress {
  private readonly started = Date.now();
  private readonly line = new ProgressLine(process.stderr, 60_000);
  private secondsPerStep: number | null = null;
  private measuredSteps = 0;
  private measuredSeconds = 0;
  private runStarted = 0;
  private current: SweepRun | null = null;
  done = 0;
  failed = 0;
  skipped = 0;

  constructor(
    private readonly plan: SweepPlan,
    private readonly remaining: () => SweepRun[],
  ) {}

  private eta(): number {
    if (this.secondsPerStep === null) return NaN;
    const steps = this.remaining().reduce((s, r) => s + r.config.steps, 0);
    return Math.max(0, steps * this.secondsPerStep - (this.current ? (Date.now() - this.runStarted) / 1000 : 0));
  }

  text(): string {
    const total = this.plan.runs.length;
    const failed = this.failed ? `, ${this.failed} failed` : '';
    const skipped = this.skipped ? `, ${this.skipped} already done` : '';
    const running = this.current ? `; running ${this.current.arm} seed ${this.current.seed}` : '';
    const elapsed = formatDuration((Date.now() - this.started) / 1000);
    return `[sweep ${this.plan.name}] ${this.done}/${total} runs done${failed}${skipped}${running}; elapsed ${elapsed}, ETA ${formatDuration(this.eta())}`;
  }

  /** A run starts: one line for it (also in logs), then the live line when quiet. */
  start(run: SweepRun): void {
    this.current = run;
    this.runStarted = Date.now();
    this.line.update(this.text(), true);
  }

  /** Redraws the live line (terminal, --quiet) with the current elapsed time. */
  tick(): void {
    this.line.update(this.text());
  }

  finish(run: SweepRun, completed: boolean): void {
    const seconds = (Date.now() - this.runStarted) / 1000;
    if (completed) {
      this.measuredSteps += run.config.steps;
      this.measuredSeconds += seconds;
      this.secondsPerStep = this.measuredSeconds / this.measuredSteps;
    }
    this.current = null;
    this.done++;
    if (!completed) this.failed++;
    this.line.clear();
  }

  end(): string {
    this.line.clear();
    const failed = this.failed ? `, ${this.failed} failed` : '';
    const skipped = this.skipped ? ` (${this.skipped} done before)` : '';
    return `[sweep ${this.plan.name}] ${this.done}/${this.plan.runs.length} runs done${failed}${skipped} in ${formatDuration((Date.now() - this.started) / 1000)}`;
  }
}

export async function sweepCommand(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, SWEEP_OPTIONS);
  if (flags.help) {
    process.stdout.write(SWEEP_USAGE + '\n');
    return 0;
  }
  if (flags.positionals.length !== 1) {
    throw new FlagError(flags.positionals.length === 0 ? 'name a sweep file: shardlab sweep FILE (see --help)' : `one sweep file at a time, got ${flags.positionals.join(' ')}`);
  }
  const own = resolveOptions(flags.values, SWEEP_OPTIONS);
  const quiet = own.quiet as boolean;
  const plan = loadSweepFile(flags.positionals[0]!, { out: own.out as string | undefined });
  mkdirSync(plan.dir, { recursive: true });
  writeJsonFile(join(plan.dir, 'sweep.json'), {
    ...sweepInfo(plan),
    file: plan.file,
    datasetRequested: plan.dataset.requested,
    runs: plan.runs.map((r) => ({ arm: r.arm, seed: r.seed, dir: r.dir, referenceDir: r.referenceDir })),
  });
  process.stderr.write(
    `sweep ${plan.name}: ${plan.arms.length} arm(s) x ${plan.seeds.length} seed(s) = ${plan.runs.length} runs on ${plan.dataset.description}; files in ${plan.dir}\n`,
  );

  // The live dashboard lists every run of the plan from the start, and which are done.
  const live = await openDashboard(own, `sweep ${plan.name}`, 'sweep', (line) => process.stderr.write(line + '\n'));
  const runId = (r: SweepRun) => `${r.arm}/seed-${r.seed}`;
  for (const r of plan.runs) live?.hub.plan(runId(r), r.arm, r.seed);
  try {
    return await runSweep(plan, quiet, live?.hub ?? null, runId);
  } finally {
    await live?.close();
  }
}

async function runSweep(plan: SweepPlan, quiet: boolean, hub: DashboardHub | null, runId: (r: SweepRun) => string): Promise<number> {
  const errors = new Map<SweepRun, string>();
  let next = 0;
  const progress = new SweepProgress(plan, () => plan.runs.slice(next));
  for (; next < plan.runs.length; next++) {
    const run = plan.runs[next]!;
    if (isRunComplete(run.dir)) {
      progress.skipped++;
      progress.done++;
      const kept = readRun({ arm: run.arm, seed: run.seed, dir: run.dir });
      hub?.finished(runId(run), { status: kept.status, finalTestAccuracy: kept.summary?.finalTestAccuracy ?? null, error: kept.error });
      const diff = recordedConfigDiff(run.dir, run.config);
      if (diff.length) {
        process.stderr.write(`sweep: keeping the finished run ${run.dir}, but it was made with other settings (${diff.join('; ')}); delete it to rerun\n`);
      }
      continue;
    }
    progress.start(run);
    const ticker = quiet ? setInterval(() => progress.tick(), 1000) : null;
    let completed = false;
    try {
      // Weight divergence: the reference arm saves parameter snapshots at its evaluations, the
      // other arms compare against its run with the same seed (run first).
      const divergence = { saveSnapshots: run.arm === plan.reference, reference: run.referenceDir ?? undefined };
      const observer = hub?.observer(runId(run), run.arm, run.seed);
      const { summary } = await runEmbedded(run.config, { out: run.dir, port: 0, quiet, observer, ...divergence });
      completed = summary.status === 'completed';
      if (!completed) errors.set(run, summary.error ?? 'failed');
    } catch (err) {
      errors.set(run, describeError(err));
    } finally {
      if (ticker) clearInterval(ticker);
    }
    progress.finish(run, completed);
    if (!completed) process.stderr.write(`sweep: ${run.arm} seed ${run.seed} failed: ${errors.get(run)}\n`);
  }
  process.stderr.write(progress.end() + '\n');

  const info = sweepInfo(plan);
  const runs = plan.runs.map((r) => readRun({ arm: r.arm, seed: r.seed, dir: r.dir, error: errors.get(r) ?? null }));
  const { csv, markdown } = writeResults(plan.dir, info, runs);
  const html = writeReportHtml(join(plan.dir, 'report.html'), info, runs);
  process.stdout.write(`\n${readFileSync(markdown, 'utf8')}\nfiles:\n  ${markdown}\n  ${csv}\n  ${html}\n`);
  const failed = runs.filter((r) => r.status !== 'completed').length;
  if (failed) process.stderr.write(`shardlab sweep: ${failed} of ${runs.length} runs failed (see results.md)\n`);
  return failed ? 1 : 0;
}
