import {
  ENVIRONMENT_HELP,
  EXPERIMENT_OPTIONS,
  FlagError,
  SECURITY_OPTIONS,
  checkExposure,
  configOrResume,
  describeError,
  formatOptionHelp,
  parseFlags,
  resolveOptions,
  resolveSecurity,
  whereIn,
  type OptionSpec,
} from '@shardlab/experiment';
import { DASHBOARD_OPTIONS, openDashboard } from '@shardlab/dashboard';
import { runCoordinator } from './coordinator';
import { resumeHint } from '@shardlab/report';

export const COORDINATOR_OPTIONS: readonly OptionSpec[] = [
  { key: 'host', type: 'string', default: '127.0.0.1', help: 'address to listen on; 0.0.0.0 for trainers on other hosts or containers (then a token, --token-file / SHARDLAB_TOKEN, or --insecure)' },
  { key: 'port', type: 'int', default: 50051, min: 0, max: 65535, help: 'port to listen on (0 = any free port)' },
  { key: 'out', type: 'string', valueHint: 'DIR', help: 'results directory (default: runs/<strategy>-<time>)' },
  { key: 'resume', type: 'string', valueHint: 'DIR', help: 'continue the run in DIR from its checkpoint.bin (written with --checkpoint-every), with its own settings; trainers join as usual' },
];

export function defaultOutDir(prefix: string): string {
  return `runs/${prefix}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
}

/** Splits parsed values into experiment settings and the keys listed in `own`. */
export function splitValues(values: Record<string, unknown>, own: readonly OptionSpec[]) {
  const mine: Record<string, unknown> = {};
  const experiment: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) (own.some((o) => o.key === k) ? mine : experiment)[k] = v;
  return { mine, experiment };
}

export const COORDINATOR_USAGE = `Usage: shardlab coordinator [options]

Runs the coordinator of a cluster: listens for trainers (shardlab trainer --coordinator HOST:PORT),
waits for --workers of them, runs the experiment and writes its files to --out. Listens on
127.0.0.1 unless --host says otherwise; with a run token (--token-file or SHARDLAB_TOKEN) every
call must carry it, and only GetStatus answers without it (state and step counts, nothing else).
${ENVIRONMENT_HELP}

Options:
${formatOptionHelp([...COORDINATOR_OPTIONS, ...DASHBOARD_OPTIONS, ...SECURITY_OPTIONS, ...EXPERIMENT_OPTIONS])}
  -h, --help`;

/** Every option `shardlab coordinator` takes (flags, and SHARDLAB_ variables): its own, then the experiment's. */
const OWN_OPTIONS: readonly OptionSpec[] = [...COORDINATOR_OPTIONS, ...DASHBOARD_OPTIONS, ...SECURITY_OPTIONS];
export const COORDINATOR_COMMAND_OPTIONS: readonly OptionSpec[] = [...OWN_OPTIONS, ...EXPERIMENT_OPTIONS];

export async function coordinatorMain(argv: readonly string[]): Promise<number> {
  const own = OWN_OPTIONS;
  const options = COORDINATOR_COMMAND_OPTIONS;
  try {
    const flags = parseFlags(argv, options, process.env);
    if (flags.help) {
      process.stdout.write(COORDINATOR_USAGE + '\n');
      return 0;
    }
    if (flags.positionals.length) throw new FlagError(`unexpected argument ${flags.positionals[0]}`);
    const { mine, experiment } = splitValues(flags.values, own);
    const where = whereIn(flags.where);
    const values = resolveOptions(mine, own, where);
    const { config, resumeDir } = configOrResume(experiment, values.resume as string | undefined, values.out as string | undefined, where);
    const host = values.host as string;
    const port = values.port as number;
    const security = resolveSecurity(values);
    checkExposure(host, security, where('host'));
    const out = resumeDir ?? (values.out as string | undefined) ?? defaultOutDir(config.strategy);
    const live = await openDashboard(values, `coordinator: ${config.strategy}`, 'coordinator', (line) => process.stderr.write(line + '\n'));
    try {
      const { summary } = await runCoordinator(config, { host, port, out, security, resume: resumeDir !== null, observer: live?.hub.observer(config.strategy, config.strategy, config.seed) });
      if (summary.status !== 'completed') {
        process.stderr.write(`shardlab coordinator: run failed: ${summary.error}\nfiles so far: ${out}\n${resumeHint(summary, `shardlab coordinator --resume ${out}`)}`);
      } else {
        process.stderr.write(`done: test accuracy ${(100 * (summary.finalTestAccuracy ?? NaN)).toFixed(1)}%; files in ${out}\n`);
      }
      await live?.linger();
      return summary.status === 'completed' ? 0 : 1;
    } finally {
      await live?.close();
    }
  } catch (err) {
    process.stderr.write(`shardlab coordinator: ${describeError(err)}\n`);
    if (process.env['SHARDLAB_DEBUG']) console.error(err);
    return 2;
  }
}
