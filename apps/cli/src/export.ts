import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { FlagError, formatOptionHelp, parseFlags, resolveOptions, type OptionSpec } from '@shardlab/experiment';
import { collectRuns, exportStatus, longTableLines, writingTo } from '@shardlab/report';

const EXPORT_OPTIONS: readonly OptionSpec[] = [{ key: 'out', type: 'string', default: 'runs.csv', valueHint: 'FILE', help: 'the CSV file to write' }];

export const EXPORT_USAGE = `Usage: shardlab export DIR... [options]

Every run of any mix of run, compare and sweep directories (and trees of them, like runs/) as one
long table in CSV: one row per run x measurement, with every setting of the run as a column.
  run, arm, seed, status, error    which run; status: completed, failed, unfinished (no summary.json:
                                   still going, or killed) or broken (no config.json)
  <settings>                       every key of the run's config.json (lists joined by spaces)
  kind, step, metric, value        train: loss, grad_cosine, elapsed_seconds; eval: test_accuracy,
                                   test_loss, class_accuracy, weight_divergence
  worker, class                    set for a per-worker loss and a per-class accuracy
step counts the parameter updates before the measurement, in train and eval rows alike, so a join
on (run, step) pairs the training loss and test accuracy of the same parameters.
  pandas:  df = pd.read_csv("runs.csv"); df[df.metric == "test_accuracy"].pivot_table(index="step", columns="arm", values="value")

Options:
${formatOptionHelp(EXPORT_OPTIONS)}
  -h, --help`;

export async function exportCommand(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, EXPORT_OPTIONS);
  if (flags.help) {
    process.stdout.write(EXPORT_USAGE + '\n');
    return 0;
  }
  if (!flags.positionals.length) throw new FlagError('name at least one run, compare or sweep directory: shardlab export DIR... (see --help)');
  const own = resolveOptions(flags.values, EXPORT_OPTIONS);
  const { runs, sources } = collectRuns(flags.positionals);
  process.stderr.write(sources.map((s) => `export: ${s}\n`).join(''));
  const out = resolve(own.out as string);
  // Written beside, then renamed: an interrupted export never leaves a table that looks whole.
  const partial = `${out}.partial`;
  let rows = 0;
  writingTo(out, () => {
    const fd = openSync(partial, 'w');
    try {
      for (const line of longTableLines(runs)) {
        writeSync(fd, line + '\n');
        rows++;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(partial, out);
  });
  const notDone = runs.filter((r) => r.status !== 'completed');
  for (const r of notDone) process.stderr.write(`export: ${r.dir}: ${exportStatus(r)}: ${r.error}\n`);
  process.stdout.write(`${out}: ${rows - 1} rows from ${runs.length} run(s)${notDone.length ? `, ${notDone.length} not completed` : ''}\n`);
  return 0;
}
