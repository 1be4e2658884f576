import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenericContainer, Network, Wait, getContainerRuntimeClient, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { envOf } from '@shardlab/options';

/*
 * A shardlab cluster for integration tests, as testcontainers' own modules give you a database: one coordinator
 * and `workers` trainer containers on a private network, the run token made for you, the results on a host
 * directory. Settings are shardlab's own (the keys of `shardlab coordinator --help`, as in config.json) and reach
 * the containers as their SHARDLAB_ variables.
 *
 *   const cluster = await new ShardlabCluster({ workers: 4, settings: { strategy: 'label-per-node', steps: 100 } }).start();
 *   const { summary } = await cluster.waitForRun();
 *   await cluster.stop();
 *
 * The images are those `bash deploy/build-images.sh` builds (shardlab-coordinator:latest, shardlab-trainer:latest);
 * nothing is pulled.
 */

/** The coordinator's gRPC port in its container. */
export const COORDINATOR_PORT = 50051;

/** The coordinator image's own check (`shardlab status`, as its non-root user), polled every second. */
export const COORDINATOR_HEALTH_CHECK = {
  test: ['CMD', '/usr/local/bin/shardlab-entrypoint', 'status', '--coordinator', `127.0.0.1:${COORDINATOR_PORT}`, '--timeout', '3'] as ['CMD', ...string[]],
  interval: 1000,
  timeout: 5000,
  retries: 3,
  startPeriod: 60_000,
};

export interface ShardlabClusterOptions {
  /** Trainer containers, and the coordinator's --workers (default 2). */
  workers?: number;
  /** Experiment settings by config key ({ strategy: 'iid', steps: 50, hidden: [32] }). */
  settings?: Readonly<Record<string, string | number | boolean | readonly (string | number)[]>>;
  /** Default shardlab-coordinator:latest. */
  coordinatorImage?: string;
  /** Default shardlab-trainer:latest. */
  trainerImage?: string;
  /** The run token (default: 32 random hex digits). */
  token?: string;
  /** Where the coordinator writes its files (default: a fresh temporary directory). */
  resultsDir?: string;
  /** How long the coordinator may take to become healthy, in ms (default 90 s). */
  startupTimeoutMs?: number;
}

/** What a finished run left: summary.json (null if the coordinator never wrote one) and the coordinator's exit code. */
export interface RunOutcome {
  exitCode: number;
  summary: Record<string, unknown> | null;
  resultsDir: string;
}

export interface StartedShardlabCluster {
  /** host:port of the coordinator from the test's side (a mapped port of the Docker host). */
  readonly coordinatorAddress: string;
  readonly token: string;
  readonly resultsDir: string;
  readonly coordinator: StartedTestContainer;
  readonly trainers: readonly StartedTestContainer[];
  /** Waits for the coordinator to exit (the run is over) and reads summary.json. */
  waitForRun(timeoutMs?: number): Promise<RunOutcome>;
  /** Removes every container and the network (the results directory stays). */
  stop(): Promise<void>;
}

/**
 * Who owns a results directory and runs the coordinator: the caller itself, unless it is root - then the image's
 * own user 1000:1000 (shardlab never runs as root in a container).
 */
export function resultsOwner(): { uid: number; gid: number } {
  const uid = process.getuid?.() ?? 1000;
  const gid = process.getgid?.() ?? 1000;
  return uid === 0 ? { uid: 1000, gid: 1000 } : { uid, gid };
}

/**
 * The coordinator container, not started: `coordinator` on `network` and a mapped port of the Docker host, the
 * results bind-mounted from `resultsDir`, ready once healthy (its gRPC server answers `shardlab status`). Started as
 * root only for the image's entrypoint, which hands /results to the runtime user and drops root. `env`: SHARDLAB_
 * variables; `command`: arguments after the image's `coordinator --out /results --host 0.0.0.0` (none by default).
 */
export function coordinatorContainer(o: { image: string; network: StartedNetwork; token: string; resultsDir: string; env?: Record<string, string>; command?: readonly string[]; startupTimeoutMs?: number }): GenericContainer {
  const owner = resultsOwner();
  let c = new GenericContainer(o.image)
    .withPullPolicy({ shouldPull: () => false })
    .withNetwork(o.network)
    .withNetworkAliases('coordinator')
    .withUser('0:0')
    .withEnvironment({ ...o.env, SHARDLAB_TOKEN: o.token, SHARDLAB_UID: String(owner.uid), SHARDLAB_GID: String(owner.gid) })
    .withBindMounts([{ source: o.resultsDir, target: '/results', mode: 'rw' }])
    .withExposedPorts(COORDINATOR_PORT)
    .withHealthCheck(COORDINATOR_HEALTH_CHECK)
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(o.startupTimeoutMs ?? 90_000);
  if (o.command) c = c.withCommand(['--out', '/results', '--host', '0.0.0.0', ...o.command]);
  return c;
}

/**
 * A trainer container, not started, that dials `coordinator` on `network`; ready once it has joined the run
 * (`waitForJoin`, default) or as soon as it runs. `command`: arguments after the image's `trainer --coordinator
 * coordinator:50051` (the image's default, when not given).
 */
export function trainerContainer(o: { image: string; network: StartedNetwork; token: string; env?: Record<string, string>; command?: readonly string[]; alias?: string; waitForJoin?: boolean }): GenericContainer {
  let c = new GenericContainer(o.image)
    .withPullPolicy({ shouldPull: () => false })
    .withNetwork(o.network)
    .withNetworkAliases(...(o.alias ? [o.alias] : []))
    .withEnvironment({ ...o.env, SHARDLAB_TOKEN: o.token })
    .withStartupTimeout(120_000);
  if (o.command) c = c.withCommand(['--coordinator', `coordinator:${COORDINATOR_PORT}`, ...o.command]);
  if (o.waitForJoin ?? true) c = c.withWaitStrategy(Wait.forLogMessage(/ joined run /));
  return c;
}

/** A setting's value as its environment variable carries it (lists comma-separated, as the flag takes them). */
function envValue(value: string | number | boolean | readonly (string | number)[]): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

export class ShardlabCluster {
  constructor(private readonly options: ShardlabClusterOptions = {}) {}

  async start(): Promise<StartedShardlabCluster> {
    const o = this.options;
    const workers = o.workers ?? 2;
    const token = o.token ?? randomBytes(16).toString('hex');
    const resultsDir = o.resultsDir ?? mkdtempSync(join(tmpdir(), 'shardlab-cluster-'));
    const settings = Object.fromEntries(Object.entries(o.settings ?? {}).map(([key, value]) => [envOf(key), envValue(value)]));
    const network: StartedNetwork = await new Network().start();
    const started: StartedTestContainer[] = [];
    try {
      const coordinator = await coordinatorContainer({
        image: o.coordinatorImage ?? 'shardlab-coordinator:latest',
        network,
        token,
        resultsDir,
        env: { ...settings, SHARDLAB_WORKERS: String(workers) },
        startupTimeoutMs: o.startupTimeoutMs,
      }).start();
      started.push(coordinator);
      const trainers = await Promise.all(
        Array.from({ length: workers }, (_, i) =>
          trainerContainer({ image: o.trainerImage ?? 'shardlab-trainer:latest', network, token, env: { SHARDLAB_NAME: `trainer-${i}`, SHARDLAB_PEER_HOST: '0.0.0.0' } }).start(),
        ),
      );
      started.push(...trainers);
      const coordinatorAddress = `${coordinator.getHost()}:${coordinator.getMappedPort(COORDINATOR_PORT)}`;
      return {
        coordinatorAddress,
        token,
        resultsDir,
        coordinator,
        trainers,
        waitForRun: (timeoutMs = 600_000) => waitForRun(coordinator, resultsDir, timeoutMs),
        stop: async () => {
          await Promise.all(started.map((c) => c.stop({ timeout: 0, remove: true }).catch(() => undefined)));
          await network.stop().catch(() => undefined);
        },
      };
    } catch (err) {
      await Promise.all(started.map((c) => c.stop({ timeout: 0, remove: true }).catch(() => undefined)));
      await network.stop().catch(() => undefined);
      throw err;
    }
  }
}

/**
 * The exit code of `container` once it exited; rejects after `timeoutMs`, with `what` and `detail()` (its log, say)
 * in the message.
 */
export async function waitForExit(container: StartedTestContainer, timeoutMs: number, what = 'the container', detail: () => string = () => ''): Promise<number> {
  const client = await getContainerRuntimeClient();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not exit within ${timeoutMs / 1000} s${detail()}`)), timeoutMs);
  });
  try {
    const { StatusCode } = (await Promise.race([client.container.getById(container.getId()).wait(), timeout])) as { StatusCode: number };
    return StatusCode;
  } finally {
    clearTimeout(timer);
  }
}

async function waitForRun(coordinator: StartedTestContainer, resultsDir: string, timeoutMs: number): Promise<RunOutcome> {
  const exitCode = await waitForExit(coordinator, timeoutMs, 'the shardlab run\'s coordinator');
  let summary: Record<string, unknown> | null = null;
  try {
    summary = JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    summary = null;
  }
  return { exitCode, summary, resultsDir };
}
