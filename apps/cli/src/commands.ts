import { join } from 'node:path';
import { defaultOutDir, splitValues } from '@shardlab/coordinator';
import { STRATEGY_NAMES, fashionMnistAvailable } from '@shardlab/data';
import {
  EXPERIMENT_OPTIONS,
  ENVIRONMENT_HELP,
  FlagError,
  bySource,
  commandLineSettings,
  configOrResume,
  isOverride,
  layerSettings,
  loadSettingsFile,
  parseOverrides,
  whereIn,
  formatOptionHelp,
  parseFlags,
  resolveConfig,
  resolveOptions,
  type ExperimentConfig,
  type OptionSpec,
} from '@shardlab/experiment';
import { describeBackend, initBackend } from '@shardlab/model';
import { formatComparison, pct, readRun, resumeHint, writeReportHtml, type RunSummary, type SweepInfo } from '@shardlab/report';
import { DASHBOARD_OPTIONS, openDashboard } from '@shardlab/dashboard';
import { runEmbedded } from './embedded';

const RUN_OPTIONS: readonly OptionSpec[] = [
  { key: 'out', type: 'string', valueHint: 'DIR', help: 'results directory (default: runs/<strategy>-<time>)' },
  {
    key: 'config',
    type: 'string',
    valueHint: 'FILE',
    help: "settings from a YAML or JSON file (the keys of a sweep's base, and seed); flags and key=value win over it",
  },
  { key: 'port', type: 'int', default: 0, min: 0, max: 65535, help: 'coordinator port on 127.0.0.1 (0 = any free port)' },
  { key: 'quiet', type: 'bool', default: false, help: 'no progress output' },
  { key: 'resume', type: 'string', valueHint: 'DIR', help: 'continue the run in DIR from its checkpoint.bin (written with --checkpoint-every), with its own settings' },
  ...DASHBOARD_OPTIONS,
];

export const RUN_USAGE = `Usage: shardlab run [key=value ...] [options]

One experiment in embedded mode: the coordinator in this process and --workers trainers as
separate processes, talking gRPC on 127.0.0.1. Writes config.json, metrics.jsonl,
summary.json and model/ (TensorFlow.js layers format) to --out.
Settings come from --config FILE, then the environment (SHARDLAB_STEPS=500), then the flags
below and key=value (the config key, as in config.json: steps=500 batchSize=64, or its flag's
spelling batch-size=64).
${ENVIRONMENT_HELP}

Options:
${formatOptionHelp([...RUN_OPTIONS, ...EXPERIMENT_OPTIONS])}
  -h, --help`;

function describeSummary(s: RunSummary, out: string): string {
  const perClass = s.perClassAccuracy?.map((a) => pct(a)).join(' ') ?? '-';
  return [
    `${s.strategy}: ${s.workers} worker(s) x ${s.batchSize}, ${s.stepsCompleted}/${s.steps} steps, trainers on ${s.trainerBackends.join(',') || '-'}${s.lostWorkers?.length ? `; lost worker(s) ${s.lostWorkers.join(', ')}` : ''}`,
    `  test accuracy ${pct(s.finalTestAccuracy)}% (per class: ${perClass}), final loss ${s.finalLoss?.toFixed(4) ?? '-'}, loss swing ${s.lossSwing?.toFixed(4) ?? '-'}`,
    `  ${s.stepsPerSecond.toFixed(1)} steps/s, ${s.wallSeconds.toFixed(1)} s; files in ${out}`,
  ].join('\n');
}

export async function runCommand(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, [...RUN_OPTIONS, ...EXPERIMENT_OPTIONS], process.env);
  if (flags.help) {
    process.stdout.write(RUN_USAGE + '\n');
    return 0;
  }
  const stray = flags.positionals.find((a) => !isOverride(a));
  if (stray !== undefined) throw new FlagError(`unexpected argument ${stray} (settings are --flag value or key=value)`);
  const { mine, experiment } = splitValues(flags.values, RUN_OPTIONS);
  const own = resolveOptions(mine, RUN_OPTIONS, whereIn(flags.where));
  // The settings file, then SHARDLAB_ variables, then the command line (flags and key=value).
  const { flags: given, environment } = bySource(experiment, flags.where);
  const commandLine = commandLineSettings(given, parseOverrides(flags.positionals));
  const underCommandLine = own.config === undefined ? environment : layerSettings(loadSettingsFile(own.config as string), environment);
  const settings = layerSettings(underCommandLine, commandLine);
  const { config, resumeDir } = configOrResume(settings.values, own.resume as string | undefined, own.out as string | undefined, whereIn(settings.where));
  const out = resumeDir ?? (own.out as string | undefined) ?? defaultOutDir(config.strategy);
  const live = await openDashboard(own, `run ${config.strategy}`, 'run', (line) => process.stderr.write(line + '\n'));
  try {
    const observer = live?.hub.observer(config.strategy, config.strategy, config.seed);
    const { summary } = await runEmbedded(config, { out, port: own.port as number, quiet: own.quiet as boolean, resume: resumeDir !== null, observer });
    process.stdout.write(describeSummary(summary, out) + '\n');
    if (summary.status !== 'completed') process.stderr.write(`shardlab run: run failed: ${summary.error}\n${resumeHint(summary, `shardlab run --resume ${out}`)}`);
    await live?.linger();
    return summary.status === 'completed' ? 0 : 1;
  } finally {
    await live?.close();
  }
}

const COMPARE_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'strategies',
    type: 'string',
    default: 'iid,label-per-node,sequential-single-class',
    valueHint: 'A,B,..',
    help: `strategies to compare (of ${STRATEGY_NAMES.join(', ')})`,
  },
  { key: 'out', type: 'string', valueHint: 'DIR', help: 'results directory (default: runs/compare-<time>)' },
  { key: 'quiet', type: 'bool', default: false, help: 'no progress output' },
  ...DASHBOARD_OPTIONS,
];

/** The seed question's defaults: 4 workers, batch 128, Fashion-MNIST classes 0-3 when installed. */
const COMPARE_DEFAULTS: Readonly<Record<string, unknown>> = { workers: 4, batchSize: 128, steps: 200 };

/** Evaluations a compare run makes when --eval-every is not given: enough points for its accuracy charts, whatever --steps. */
const COMPARE_EVALUATIONS = 20;
const compareEvalEvery = (steps: number): number => Math.max(1, Math.ceil(steps / COMPARE_EVALUATIONS));

/** The experiment options as compare uses them: its own defaults shown, the dataset's automatic choice said. */
function compareExperimentOptions(): OptionSpec[] {
  return EXPERIMENT_OPTIONS.filter((o) => o.key !== 'strategy').map((o) => {
    if (o.key === 'dataset') return { ...o, default: undefined, help: `${o.help} (default: fashion-mnist classes 0-3 when installed, else synthetic)` };
    if (o.key === 'evalEvery') return { ...o, default: undefined, help: `${o.help} (default: --steps / ${COMPARE_EVALUATIONS}, so every chart has ${COMPARE_EVALUATIONS} points)` };
    return o.key in COMPARE_DEFAULTS ? { ...o, default: COMPARE_DEFAULTS[o.key] } : o;
  });
}

export const COMPARE_USAGE = `Usage: shardlab compare [options]

The seed question ("batch 128, 4 labels: how bad is it if every batch holds one label?"),
answered by running it: the same data, model, seed and steps under each strategy, one after
another, then a table of final test accuracy, per-class accuracy and loss swing.
Uses Fashion-MNIST classes 0-3 when the Debian package dataset-fashion-mnist is installed,
else synthetic 4-class data (it says which).
${ENVIRONMENT_HELP}

Options:
${formatOptionHelp([...COMPARE_OPTIONS, ...compareExperimentOptions()])}
  -h, --help`;

export async function compareCommand(argv: readonly string[]): Promise<number> {
  const options = [...COMPARE_OPTIONS, ...EXPERIMENT_OPTIONS.filter((o) => o.key !== 'strategy')];
  const flags = parseFlags(argv, options, process.env);
  if (flags.help) {
    process.stdout.write(COMPARE_USAGE + '\n');
    return 0;
  }
  if (flags.positionals.length) throw new FlagError(`unexpected argument ${flags.positionals[0]}`);
  const { mine, experiment } = splitValues(flags.values, COMPARE_OPTIONS);
  const own = resolveOptions(mine, COMPARE_OPTIONS, whereIn(flags.where));
  const strategies = String(own.strategies).split(',').map((s) => s.trim()).filter(Boolean);
  if (strategies.length === 0) throw new FlagError('--strategies: name at least one strategy');
  const auto = experiment.dataset === undefined;
  const useFashion = auto && fashionMnistAvailable();
  // The flag's text until resolveConfig checks it: a bad --steps is reported as such, not as a bad --eval-every.
  const steps = Number(experiment.steps ?? COMPARE_DEFAULTS.steps);
  const base = {
    ...COMPARE_DEFAULTS,
    ...(Number.isInteger(steps) && steps >= 1 ? { evalEvery: compareEvalEvery(steps) } : {}),
    ...(useFashion ? { dataset: 'fashion-mnist', classes: [0, 1, 2, 3] } : {}),
    ...experiment,
  };
  // Validate every arm before running any, so a typo does not cost a finished run.
  const configs: ExperimentConfig[] = strategies.map((strategy) => resolveConfig({ ...base, strategy }, whereIn(flags.where)));
  const first = configs[0]!;
  const why = auto ? (useFashion ? ' (the Debian package dataset-fashion-mnist is installed)' : ' (Fashion-MNIST not installed: apt-get install dataset-fashion-mnist to use it)') : '';
  const dataName = first.dataset === 'synthetic' ? `synthetic ${first.numClasses}-class data` : `${first.dataset}${first.classes ? ` classes ${first.classes.join(',')}` : ''}`;
  const out = (own.out as string | undefined) ?? defaultOutDir('compare');
  const backend = describeBackend(await initBackend(first.backend));
  process.stderr.write(
    `compare: ${strategies.join(' vs ')} on ${dataName}${why}; ${first.workers} workers x batch ${first.batchSize}, ${first.steps} steps, ${first.optimizer} lr ${first.lr}, seed ${first.seed}; backend ${backend}\n`,
  );
  const summaries: RunSummary[] = [];
  const live = await openDashboard(own, 'compare', 'compare', (line) => process.stderr.write(line + '\n'));
  for (const config of configs) live?.hub.plan(config.strategy, config.strategy, config.seed);
  try {
    for (const config of configs) {
      const dir = join(out, config.strategy);
      const observer = live?.hub.observer(config.strategy, config.strategy, config.seed);
      const { summary } = await runEmbedded(config, { out: dir, port: 0, quiet: own.quiet as boolean, observer });
      summaries.push(summary);
      if (summary.status !== 'completed') process.stderr.write(`compare: ${config.strategy} failed: ${summary.error}\n`);
    }
    process.stdout.write(`\n${formatComparison(summaries)}\n\n`);
    // The same report as a sweep's: one arm per strategy, charts and tables in one page that opens offline.
    const info: SweepInfo = {
      name: 'compare',
      description: `The seed question, run: ${strategies.join(' vs ')} with the same data, model, seed and steps.`,
      dataset: `${dataName}${why}`,
      target: null,
      reference: null,
      seeds: [first.seed],
      arms: configs.map((c) => ({ name: c.strategy, settings: { strategy: c.strategy } })),
      base,
      date: new Date().toISOString(),
    };
    const report = writeReportHtml(join(out, 'report.html'), info, configs.map((c) => readRun({ arm: c.strategy, seed: c.seed, dir: join(out, c.strategy) })));
    const classNames = summaries[0]?.classNames ?? [];
    process.stdout.write(
      `classes: ${classNames.map((n, c) => `${c} = ${n}`).join(', ')}\n` +
        `test acc: final test accuracy; acc[c]: per-class test accuracy; worst class: the lowest of them;\n` +
        `loss swing: std of the training loss over the last ${first.lossWindow} steps.\n` +
        `Report: ${report} (opens offline); TensorBoard: tensorboard --logdir ${out}\n` +
        `Files: ${out}/<strategy>/{config.json,metrics.jsonl,summary.json,model/,events.out.tfevents.*}\n`,
    );
    await live?.linger();
  } finally {
    await live?.close();
  }
  return summaries.every((s) => s.status === 'completed') ? 0 : 1;
}
