import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHECKPOINT_FILE,
  ConfigError,
  ENVIRONMENT_HELP,
  whereIn,
  FlagError,
  commandLineSettings,
  isOverride,
  parseOverrides,
  describeError,
  formatOptionHelp,
  isRunComplete,
  loadSweepFile,
  parseFlags,
  recordedConfigDiff,
  resolveOptions,
  SECURITY_OPTIONS,
  checkExposure,
  resolveSecurity,
  type Security,
  type OptionSpec,
  type Settings,
  type SweepPlan,
  type SweepRun,
} from '@shardlab/experiment';
import type { DashboardHub } from '@shardlab/dashboard';
import { ProgressLine, formatDuration, lockDirectory, readRun, writeJsonFile, writeReportHtml, writeResults, type SweepInfo } from '@shardlab/report';
import { DASHBOARD_OPTIONS, openDashboard } from '@shardlab/dashboard';
import { COORDINATOR_OPTIONS, runCoordinator } from '@shardlab/coordinator';
import { runEmbedded } from './embedded';

/** What a sweep does with a finished run whose recorded settings differ from what the sweep now asks. */
const ON_CHANGE = ['stop', 'redo', 'keep'] as const;

const SWEEP_OPTIONS: readonly OptionSpec[] = [
  { key: 'out', type: 'string', valueHint: 'DIR', help: 'sweep directory (default: runs/sweep-<name>)' },
  { key: 'arms', type: 'string-list', valueHint: 'A,B,..', help: "only these arms of the file (the reference arm, left out, is no reference)" },
  { key: 'seeds', type: 'int-list', min: 0, valueHint: 'N,N,..', help: "these seeds instead of the file's" },
  { key: 'steps', type: 'int', min: 1, max: 10_000_000, help: 'every arm runs this many steps (the same as steps=N)' },
  {
    key: 'onChange',
    type: 'enum',
    default: 'stop',
    choices: ON_CHANGE,
    help: 'a finished run made with other settings than the sweep now asks: stop before running anything and name them; redo it; or keep it as it is',
  },
  { key: 'quiet', type: 'bool', default: false, help: 'no per-run progress; only one line per run and the overall progress' },
  {
    key: 'cluster',
    type: 'bool',
    default: false,
    help: "run every arm against trainers started elsewhere (shardlab trainer --rejoin: a cluster's): this process is each run's coordinator in turn, on --host and --port",
  },
  // The coordinator's own: where --cluster listens.
  ...COORDINATOR_OPTIONS.filter((o) => o.key === 'host' || o.key === 'port'),
  ...DASHBOARD_OPTIONS,
  ...SECURITY_OPTIONS,
];

export const SWEEP_USAGE = `Usage: shardlab sweep FILE [key=value ...] [options]

Runs every arm x seed of a sweep file (YAML or JSON, e.g. experiments/smoke.yaml), one run
after another in embedded mode, each into <dir>/<arm>/seed-<seed>/. key=value sets a setting
for every arm over what the file says (steps=50 lr=0.1); --arms, --seeds and --steps narrow it.
Resumable: a run whose summary.json says completed with the same settings is kept, so
rerunning the command continues where it stopped; a run stopped part-way continues from its
checkpoint.bin when it has one, else starts over; a finished run made with other settings
stops the sweep before it runs anything (see --on-change).
A failed run is recorded and the sweep goes on. Then writes, into the sweep directory:
  results.csv   one row per run (every summary field, per-class accuracy, steps to target)
  results.md    one row per arm: mean ± std over seeds (also printed)
  report.html   charts and tables in one self-contained file (opens offline)
Exit code 1 if any run failed.
--cluster: the runs are served one after another on --host:--port (with a run token from
--token-file or SHARDLAB_TOKEN off loopback) to trainers that a cluster starts once with
'shardlab trainer --coordinator HOST:PORT --rejoin': they join each run in turn; a run with fewer
workers than trainers leaves the others waiting (docs/cluster.md).

Sweep file keys: name, description, base (settings for every arm), seeds, target (accuracy
for "steps to reach target"), reference (arm for weight divergence), arms (each: name and
settings). Settings are those of 'shardlab run --help', as camelCase keys (batchSize: 128);
dataset: auto means Fashion-MNIST classes 0-3 when installed, else synthetic data.

${ENVIRONMENT_HELP}

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
  const flags = parseFlags(argv, SWEEP_OPTIONS, process.env);
  if (flags.help) {
    process.stdout.write(SWEEP_USAGE + '\n');
    return 0;
  }
  const files = flags.positionals.filter((a) => !isOverride(a));
  if (files.length !== 1) {
    throw new FlagError(files.length === 0 ? 'name a sweep file: shardlab sweep FILE (see --help)' : `one sweep file at a time, got ${files.join(' ')}`);
  }
  const where = whereIn(flags.where);
  const own = resolveOptions(flags.values, SWEEP_OPTIONS, where);
  const quiet = own.quiet as boolean;
  const cluster = own.cluster ? clusterOf(own, where) : null;
  for (const key of ['host', 'port']) {
    if (!own.cluster && flags.where[key]?.startsWith('--')) throw new FlagError(`${flags.where[key]} applies only to a sweep on a cluster (--cluster)`);
  }
  const steps: Settings = own.steps === undefined ? { values: {}, where: {} } : { values: { steps: own.steps }, where: { steps: flags.where['steps'] ?? '--steps' } };
  const overrides = commandLineSettings(steps, parseOverrides(flags.positionals.filter(isOverride), false));
  const plan = loadSweepFile(files[0]!, {
    out: own.out as string | undefined,
    overrides,
    arms: own.arms as string[] | undefined,
    seeds: own.seeds as number[] | undefined,
  });
  const changed = changedRuns(plan);
  if (changed.length && own.onChange === 'stop') {
    const listed = changed.slice(0, 3).map(({ run, diff }) => `  ${run.dir}: ${diff.join('; ')}`);
    throw new ConfigError(
      `${changed.length} finished run(s) were made with other settings than this sweep asks:\n${listed.join('\n')}${changed.length > 3 ? `\n  and ${changed.length - 3} more` : ''}\n` +
        `nothing was run. --on-change redo reruns them, --on-change keep keeps them as they are, --out DIR starts a sweep elsewhere`,
    );
  }
  mkdirSync(plan.dir, { recursive: true });
  // Two sweeps into one directory would run the same runs twice and write each other's tables.
  const lock = lockDirectory(plan.dir);
  try {
    return await sweepInto(plan, own, quiet, changed, cluster);
  } finally {
    lock.release();
  }
}

/** Where a sweep on a cluster serves its runs. */
interface ClusterServe {
  host: string;
  port: number;
  security: Security;
}

function clusterOf(own: Record<string, unknown>, where: (key: string) => string): ClusterServe {
  const host = own.host as string;
  const security = resolveSecurity(own);
  checkExposure(host, security, where('host'));
  if (own.port === 0) throw new FlagError(`${where('port')}: a sweep on a cluster needs a fixed port (trainers dial the same address for every run)`);
  return { host, port: own.port as number, security };
}

async function sweepInto(plan: SweepPlan, own: Record<string, unknown>, quiet: boolean, changed: { run: SweepRun; diff: string[] }[], cluster: ClusterServe | null): Promise<number> {
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
    if (cluster) process.stderr.write(`sweep: each run is served on ${cluster.host}:${cluster.port} to trainers started with --coordinator <this host>:${cluster.port} --rejoin\n`);
    const code = await runSweep(plan, quiet, live?.hub ?? null, runId, new Map(changed.map((c) => [c.run, c.diff])), own.onChange as OnChange, cluster);
    if (code !== 130) await live?.linger();
    return code;
  } finally {
    await live?.close();
  }
}

type OnChange = (typeof ON_CHANGE)[number];

/** The finished runs of the plan whose config.json differs from what the plan asks, with the differences. */
function changedRuns(plan: SweepPlan): { run: SweepRun; diff: string[] }[] {
  return plan.runs.flatMap((run) => {
    if (!isRunComplete(run.dir)) return [];
    const diff = recordedConfigDiff(run.dir, run.config);
    return diff.length ? [{ run, diff }] : [];
  });
}

async function runSweep(
  plan: SweepPlan,
  quiet: boolean,
  hub: DashboardHub | null,
  runId: (r: SweepRun) => string,
  changed: Map<SweepRun, string[]>,
  onChange: OnChange,
  cluster: ClusterServe | null,
): Promise<number> {
  const errors = new Map<SweepRun, string>();
  let next = 0;
  const progress = new SweepProgress(plan, () => plan.runs.slice(next));
  // Ctrl-C or SIGTERM: the run under way stops at a step boundary (the coordinator's own handler), then the sweep.
  let interrupted: string | null = null;
  const onSignal = (signal: NodeJS.Signals) => (interrupted ??= signal);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, onSignal);
  try {
    for (; next < plan.runs.length && interrupted === null; next++) {
      const run = plan.runs[next]!;
      const diff = changed.get(run);
      if (diff && onChange === 'redo') {
        process.stderr.write(`sweep: redoing ${run.dir}, made with other settings (${diff.join('; ')})\n`);
        rmSync(run.dir, { recursive: true, force: true });
      } else if (isRunComplete(run.dir)) {
        progress.skipped++;
        progress.done++;
        const kept = readRun({ arm: run.arm, seed: run.seed, dir: run.dir });
        hub?.finished(runId(run), { status: kept.status, finalTestAccuracy: kept.summary?.finalTestAccuracy ?? null, error: kept.error });
        if (diff) process.stderr.write(`sweep: keeping ${run.dir} (--on-change keep), made with other settings (${diff.join('; ')})\n`);
        continue;
      }
      // A run stopped part-way (killed, Ctrl-C) with a checkpoint and this sweep's settings continues from it.
      const resume = existsSync(join(run.dir, CHECKPOINT_FILE)) && recordedConfigDiff(run.dir, run.config).length === 0;
      if (resume) process.stderr.write(`sweep: ${run.arm} seed ${run.seed} stopped part-way; continuing from ${join(run.dir, CHECKPOINT_FILE)}\n`);
      progress.start(run);
      const ticker = quiet ? setInterval(() => progress.tick(), 1000) : null;
      let completed = false;
      try {
        // Weight divergence: the reference arm saves parameter snapshots at its evaluations, the
        // other arms compare against its run with the same seed (run first).
        const divergence = { saveSnapshots: run.arm === plan.reference, reference: run.referenceDir ?? undefined };
        const observer = hub?.observer(runId(run), run.arm, run.seed);
        const { summary } = cluster
          ? await runCoordinator(run.config, { ...cluster, out: run.dir, quiet, observer, resume, ...divergence })
          : await runEmbedded(run.config, { out: run.dir, port: 0, quiet, observer, resume, ...divergence });
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
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onSignal);
  }
  process.stderr.write(progress.end() + '\n');
  if (interrupted !== null) {
    process.stderr.write(`sweep stopped by ${interrupted}; the same command continues it (a stopped run from its checkpoint, when it wrote one)\n`);
    return 130;
  }

  const info = sweepInfo(plan);
  const runs = plan.runs.map((r) => readRun({ arm: r.arm, seed: r.seed, dir: r.dir, error: errors.get(r) ?? null }));
  const { csv, markdown } = writeResults(plan.dir, info, runs);
  const html = writeReportHtml(join(plan.dir, 'report.html'), info, runs);
  process.stdout.write(`\n${readFileSync(markdown, 'utf8')}\nfiles:\n  ${markdown}\n  ${csv}\n  ${html}\n`);
  const failed = runs.filter((r) => r.status !== 'completed').length;
  if (failed) process.stderr.write(`shardlab sweep: ${failed} of ${runs.length} runs failed (see results.md)\n`);
  return failed ? 1 : 0;
}
