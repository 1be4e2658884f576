import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROTOCOL_VERSION } from '@shardlab/protocol';
import { COORDINATOR_USAGE, coordinatorMain } from '@shardlab/coordinator';
import { describeError } from '@shardlab/experiment';
import { TRAINER_USAGE, trainerMain } from '@shardlab/trainer';
import { COMPARE_USAGE, RUN_USAGE, compareCommand, runCommand } from './commands';
import { BENCH_USAGE, benchCommand } from './bench';
import { DATA_USAGE, dataCommand } from './data';
import { HISTOGRAM_USAGE, histogramCommand } from './histogram';
import { REPORT_USAGE, reportCommand } from './report';
import { EXPORT_USAGE, exportCommand } from './export';
import { STATUS_USAGE, statusCommand } from './status';
import { SWEEP_USAGE, sweepCommand } from './sweep';

const USAGE = `shardlab: distributed-training simulation. A coordinator shards data by label and hands
batches over gRPC to trainer processes that average gradients synchronously.

Usage: shardlab <command> [options]

Commands:
  compare       the seed question: iid vs label-per-node vs sequential-single-class, side by side
  run           one experiment, coordinator and trainers as local processes
  sweep         every arm x seed of an experiment file, then results.csv, results.md, report.html
  report        one report.html for any mix of run, compare and sweep directories
  export        one long CSV table (a row per run x measurement, every setting a column) of any runs
  data          import CSV, image folders, Parquet or IDX into a dataset directory; inspect one
  coordinator   the coordinator of a cluster
  trainer       a trainer of a cluster (--coordinator HOST:PORT)
  histogram     the per-worker label histogram of a strategy, without training
  status        ask a running coordinator for its status (JSON)
  bench         step time, throughput and transport figures

Run 'shardlab <command> --help' for a command's options; 'shardlab --version' for the version.`;

/** "shardlab 0.1.0 (protocol 2, node v20.19.2)": the package version, from the package.json next to dist/ and src/. */
export function versionLine(): string {
  const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return `shardlab ${version} (protocol ${PROTOCOL_VERSION}, node ${process.version})`;
}

const COMMANDS: Record<string, { run: (argv: readonly string[]) => Promise<number>; usage: string }> = {
  compare: { run: compareCommand, usage: COMPARE_USAGE },
  run: { run: runCommand, usage: RUN_USAGE },
  sweep: { run: sweepCommand, usage: SWEEP_USAGE },
  report: { run: reportCommand, usage: REPORT_USAGE },
  export: { run: exportCommand, usage: EXPORT_USAGE },
  data: { run: dataCommand, usage: DATA_USAGE },
  coordinator: { run: coordinatorMain, usage: COORDINATOR_USAGE },
  trainer: { run: trainerMain, usage: TRAINER_USAGE },
  histogram: { run: histogramCommand, usage: HISTOGRAM_USAGE },
  status: { run: statusCommand, usage: STATUS_USAGE },
  bench: { run: benchCommand, usage: BENCH_USAGE },
};

/** The `--help` text of a command, or undefined for a name that is no command (the docs check reads it). */
export function commandUsage(name: string): string | undefined {
  return COMMANDS[name]?.usage;
}

export async function main(argv: readonly string[]): Promise<number> {
  // grpc-js logs transport errors to stderr on its own ("No address added..."); every failure
  // that matters reaches the user as one line from us, so its log stays off unless debugging.
  if (!process.env['SHARDLAB_DEBUG'] && !process.env['GRPC_VERBOSITY']) grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(versionLine() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`shardlab: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')} (see shardlab --help)\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    process.stderr.write(`shardlab ${name}: ${describeError(err)}\n`);
    if (process.env['SHARDLAB_DEBUG']) console.error(err);
    return 2;
  }
}

/** Runs the CLI on process.argv and exits with its code (gRPC channels and timers may linger). */
export function cli(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`shardlab: ${describeError(err)}\n`);
      process.exit(2);
    },
  );
}

if (require.main === module) cli();
