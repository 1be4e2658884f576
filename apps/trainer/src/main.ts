import { ENVIRONMENT_HELP, FlagError, KEEPALIVE_OPTIONS, whereIn, SECURITY_OPTIONS, describeError, formatOptionHelp, parseFlags, resolveOptions, resolveSecurity, type OptionSpec } from '@shardlab/options';
import { BACKEND_CHOICES, BACKEND_HELP, type BackendChoice } from '@shardlab/model';
import { TrainerError, runTrainer, type TrainerOptions } from './trainer';

export const TRAINER_OPTIONS: readonly OptionSpec[] = [
  { key: 'coordinator', type: 'string', valueHint: 'HOST:PORT', help: 'the coordinator to join (required)' },
  { key: 'backend', type: 'enum', default: 'auto', choices: BACKEND_CHOICES, help: BACKEND_HELP },
  { key: 'blasThreads', type: 'int', default: 1, min: 1, max: 256, help: 'native backend: OpenBLAS threads (parallelism comes from trainer processes)' },
  { key: 'name', type: 'string', valueHint: 'NAME', help: 'name shown in the coordinator logs (default: host:pid)' },
  { key: 'connectTimeout', type: 'number', default: 120, min: 0.1, max: 86400, help: 'seconds to keep trying to reach the coordinator' },
  { key: 'peerHost', type: 'string', default: '127.0.0.1', valueHint: 'HOST', help: 'ring, halving-doubling (the coordinator\'s --collective): address this trainer listens on for its peers; 0.0.0.0 to accept other hosts (then a run token, or --insecure)' },
  { key: 'peerPort', type: 'int', default: 0, min: 0, max: 65535, help: 'ring, halving-doubling: port of the peer service (0 = any free port)' },
  { key: 'peerAddress', type: 'string', valueHint: 'HOST:PORT', help: 'ring, halving-doubling: the address other trainers dial (default: the bound one; bound to 0.0.0.0, this host\'s address on the route to the coordinator)' },
  {
    key: 'rejoin',
    type: 'bool',
    default: false,
    help: 'after a run, join the next one at the same address (a sweep on a cluster: shardlab sweep --cluster); a run without a free slot is waited out; ends when no coordinator answers within --connect-timeout',
  },
  { key: 'protocolVersion', type: 'int', min: 0, max: 2 ** 31 - 1, valueHint: 'N', help: 'send this protocol version instead of ours (testing)' },
];

/** Every option `shardlab trainer` takes (flags, and SHARDLAB_ variables). */
export const TRAINER_COMMAND_OPTIONS: readonly OptionSpec[] = [...TRAINER_OPTIONS, ...KEEPALIVE_OPTIONS, ...SECURITY_OPTIONS];

export const TRAINER_USAGE = `Usage: shardlab trainer --coordinator HOST:PORT [options]

Joins a coordinator and computes gradients for the batches it assigns, until the run ends.
Under --feed ids (the coordinator's setting, the default) it loads the coordinator's dataset itself
(synthetic: nothing to read; fashion-mnist, idx:<dir>: the same files on this host) and proves it
is the same data before it joins; under --feed features every batch arrives over gRPC.
With a run token (--token-file or SHARDLAB_TOKEN, the coordinator's) every call carries it.
${ENVIRONMENT_HELP}

Options:
${formatOptionHelp([...TRAINER_OPTIONS, ...KEEPALIVE_OPTIONS, ...SECURITY_OPTIONS])}
  -h, --help`;

export async function trainerMain(argv: readonly string[]): Promise<number> {
  try {
    const options = TRAINER_COMMAND_OPTIONS;
    const flags = parseFlags(argv, options, process.env);
    if (flags.help) {
      process.stdout.write(TRAINER_USAGE + '\n');
      return 0;
    }
    if (flags.positionals.length) throw new FlagError(`unexpected argument ${flags.positionals[0]}`);
    const o = resolveOptions(flags.values, options, whereIn(flags.where));
    const coordinator = o.coordinator as string | undefined;
    if (!coordinator) throw new FlagError('--coordinator HOST:PORT (or SHARDLAB_COORDINATOR) is required');
    if (!/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(coordinator)) throw new FlagError(`${whereIn(flags.where)('coordinator')}: expected HOST:PORT, got ${JSON.stringify(coordinator)}`);
    const tag = (o.name as string | undefined) ?? 'trainer';
    const log = (line: string) => process.stderr.write(`[${tag}] ${line}\n`);
    const trainer: TrainerOptions = {
      coordinator,
      backend: o.backend as BackendChoice,
      blasThreads: o.blasThreads as number,
      peerHost: o.peerHost as string,
      peerPort: o.peerPort as number,
      peerAddress: o.peerAddress as string | undefined,
      name: o.name as string | undefined,
      connectTimeout: o.connectTimeout as number,
      protocolVersion: o.protocolVersion as number | undefined,
      security: resolveSecurity(o),
      keepalive: { time: o.keepaliveTime as number, timeout: o.keepaliveTimeout as number },
      log,
    };
    if (!o.rejoin) {
      await runTrainer(trainer);
      return 0;
    }
    return await rejoining(trainer, log);
  } catch (err) {
    process.stderr.write(`shardlab trainer: ${describeError(err)}\n`);
    if (process.env['SHARDLAB_DEBUG']) console.error(err);
    return err instanceof FlagError || (err instanceof Error && err.name === 'ConfigError') ? 2 : 1;
  }
}

/** Seconds between attempts to join when the coordinator has no free slot (a run under way, or just over). */
const REJOIN_SECONDS = 2;

/**
 * --rejoin: run after run at one coordinator address, as a sweep on a cluster starts them. A run without a free
 * slot is waited out, a run the coordinator stopped is left for the next; after at least one run, no coordinator
 * within --connect-timeout means the sweep is over (exit 0).
 */
async function rejoining(options: TrainerOptions, log: (line: string) => void): Promise<number> {
  let runs = 0;
  let waiting = false;
  for (;;) {
    try {
      await runTrainer({ ...options, onlyFreeSlot: true });
      runs++;
      waiting = false;
      log(`run ${runs} done; waiting for the next run at ${options.coordinator} (--rejoin)`);
    } catch (err) {
      if (!(err instanceof TrainerError) || !err.stop || (err.stop === 'unreachable' && runs === 0)) throw err;
      if (err.stop === 'unreachable') {
        log(`no coordinator at ${options.coordinator} within ${options.connectTimeout} s after ${runs} run(s): done`);
        return 0;
      }
      if (err.stop === 'stopped') {
        runs++;
        log(`${err.message}; waiting for the next run (--rejoin)`);
      } else if (err.stop === 'closed') {
        // The coordinator closed between two calls (a run just ended): reach for it again.
      } else if (!waiting) {
        // Said once per wait, not every attempt.
        log(`${err.message}; waiting for a run with a free slot (--rejoin)`);
      }
      waiting = err.stop === 'no-slot';
      await new Promise((r) => setTimeout(r, REJOIN_SECONDS * 1000));
    }
  }
}
