import * as grpc from '@grpc/grpc-js';
import { FlagError, SECURITY_OPTIONS, formatOptionHelp, parseFlags, resolveOptions, resolveSecurity, type OptionSpec } from '@shardlab/experiment';
import { CHANNEL_OPTIONS, channelCredentials, identityInterceptor, loadCoordinatorService, type RunStatus__Output } from '@shardlab/protocol';

const STATUS_OPTIONS: readonly OptionSpec[] = [
  { key: 'coordinator', type: 'string', default: '127.0.0.1:50051', valueHint: 'HOST:PORT', help: 'the coordinator to ask' },
  { key: 'timeout', type: 'number', default: 5, min: 0.1, max: 3600, help: 'seconds to wait for an answer' },
  ...SECURITY_OPTIONS.filter((o) => o.key !== 'insecure'),
];

export const STATUS_USAGE = `Usage: shardlab status [--coordinator HOST:PORT]

Prints the coordinator's run status as JSON (state, step, workers joined, per-worker
contributions, last loss and test accuracy). Exits 0 when the coordinator answers, 1 when
it does not: usable as a container health check. A coordinator with a run token answers a
caller without it only state, step, steps, workers and joined.

Options:
${formatOptionHelp(STATUS_OPTIONS)}
  -h, --help`;

export async function statusCommand(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, STATUS_OPTIONS);
  if (flags.help) {
    process.stdout.write(STATUS_USAGE + '\n');
    return 0;
  }
  if (flags.positionals.length) throw new FlagError(`unexpected argument ${flags.positionals[0]}`);
  const o = resolveOptions(flags.values, STATUS_OPTIONS);
  const address = o.coordinator as string;
  const { Coordinator } = loadCoordinatorService();
  const security = resolveSecurity(o);
  const client = new Coordinator(address, channelCredentials(security.tls), { ...CHANNEL_OPTIONS, interceptors: [identityInterceptor({ token: security.token })] });
  try {
    const status = await new Promise<RunStatus__Output>((resolve, reject) =>
      client.getStatus({}, { deadline: Date.now() + (o.timeout as number) * 1000 }, (err, res) => (err ? reject(err) : resolve(res!))),
    );
    process.stdout.write(JSON.stringify(status) + '\n');
    return 0;
  } catch (err) {
    const e = err as grpc.ServiceError;
    process.stderr.write(`shardlab status: no answer from ${address}: ${e.details || e.message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
