import { formatHistogram, labelHistogram } from '@shardlab/data';
import { EXPERIMENT_OPTIONS, FlagError, formatOptionHelp, parseFlags, prepareData, resolveConfig } from '@shardlab/experiment';

export const HISTOGRAM_USAGE = `Usage: shardlab histogram [options]

Prints the per-worker label histogram a strategy produces over --steps (times --local-steps)
steps, without training: which classes each worker sees, and how many samples of each.
Takes the experiment options of 'shardlab run'.

Options:
${formatOptionHelp(EXPERIMENT_OPTIONS)}
  -h, --help`;

export async function histogramCommand(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, EXPERIMENT_OPTIONS);
  if (flags.help) {
    process.stdout.write(HISTOGRAM_USAGE + '\n');
    return 0;
  }
  if (flags.positionals.length) throw new FlagError(`unexpected argument ${flags.positionals[0]}`);
  const config = resolveConfig(flags.values);
  const data = prepareData(config);
  const steps = config.steps * config.localSteps;
  const hist = labelHistogram(data.strategy, data.train.labels, data.train.numClasses, config.workers, steps);
  process.stdout.write(`${data.strategy.describe()}\nsamples per worker and class over ${steps} steps:\n${formatHistogram(hist, data.train.classNames)}\n`);
  return 0;
}
