import { resolve } from 'node:path';
import { FlagError, formatOptionHelp, parseFlags, resolveOptions, type OptionSpec } from '@shardlab/experiment';
import { collectRuns, formatResultsMarkdown, writeReportHtml } from '@shardlab/report';

const REPORT_OPTIONS: readonly OptionSpec[] = [
  { key: 'out', type: 'string', default: 'report.html', valueHint: 'FILE', help: 'the page to write' },
  { key: 'title', type: 'string', valueHint: 'TEXT', help: 'the page title (default: the sweep name, or the directory names)' },
];

export const REPORT_USAGE = `Usage: shardlab report DIR... [options]

One report.html (charts and tables, self-contained, opens offline) for any mix of directories:
  a run       (shardlab run --out DIR: summary.json, metrics.jsonl)
  a compare   (npm start / shardlab compare: one run directory per strategy)
  a sweep     (shardlab sweep: sweep.json and <arm>/seed-<n>/ runs)
A sweep keeps its arms. Other runs are arms named by their directory; runs whose settings are
the same except for the seed are grouped as seeds of one arm (mean, band and seed curves).
Prints the per-arm table and the path of the page.

Options:
${formatOptionHelp(REPORT_OPTIONS)}
  -h, --help`;

export async function reportCommand(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, REPORT_OPTIONS);
  if (flags.help) {
    process.stdout.write(REPORT_USAGE + '\n');
    return 0;
  }
  if (!flags.positionals.length) throw new FlagError('name at least one run, compare or sweep directory: shardlab report DIR... (see --help)');
  const own = resolveOptions(flags.values, REPORT_OPTIONS);
  const { info, runs, sources } = collectRuns(flags.positionals, own.title as string | undefined);
  process.stderr.write(sources.map((s) => `report: ${s}\n`).join(''));
  const path = writeReportHtml(resolve(own.out as string), info, runs);
  process.stdout.write(`${formatResultsMarkdown(info, runs)}\nReport: ${path} (opens offline)\n`);
  return 0;
}
