import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, identityInterceptor, loadCoordinatorService, type RunStatus__Output } from '@shardlab/protocol';
import {
  getContainerRuntimeClient,
  type ImagePullPolicy,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { inject } from 'vitest';
import { coordinatorContainer, resultsOwner, trainerContainer, waitForExit as waitForExitOf } from '@shardlab/testcontainers';

export { resultsOwner };
import type { ClusterImages } from './env';
import type { EvalRecord, EventRecord, MetricsRecord, StepRecord } from '@shardlab/report';

export const PORT = 50051;

/** The run token every container of a test cluster shares (SHARDLAB_TOKEN), as compose.yaml asks for. */
export const CLUSTER_TOKEN = 'e2e-cluster-token-6f1d2c9a';

/** Small synthetic data set: a run of ~100 steps takes ~20 s with 4 trainer containers on 2 cores. */
export const SMALL_DATA = ['--samples', '4000', '--test-samples', '400', '--features', '784'] as const;

/** Images are built by the global setup; a test never pulls (no registry is reachable). */
export const NEVER_PULL: ImagePullPolicy = { shouldPull: () => false };

export function images(): ClusterImages {
  const provided = inject('shardlabImages');
  if (!provided) throw new Error('the global setup (src/global-setup.ts) did not build the images');
  return provided;
}

// ---- results directory on the host ---------------------------------------------------------

/** A fresh host directory to bind-mount on /results. */
export function makeResultsDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `shardlab-e2e-${name}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

// The schema shardlab writes metrics.jsonl with (@shardlab/report's records.ts): one definition for writer and readers.
export type { EvalRecord, EventRecord, MetricsRecord, StepRecord } from '@shardlab/report';

export interface RunFiles {
  config: Record<string, unknown>;
  /** null when the run did not get as far as writing it. */
  summary: Record<string, unknown> | null;
  /** Every line of metrics.jsonl, parsed (throws if one is not JSON: the file must be intact). */
  records: MetricsRecord[];
  steps: StepRecord[];
  evals: EvalRecord[];
  events: EventRecord[];
  hasModel: boolean;
}

export function readRunFiles(dir: string): RunFiles {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const summaryPath = join(dir, 'summary.json');
  const summary = existsSync(summaryPath) ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as Record<string, unknown>) : null;
  const text = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('metrics.jsonl ends in a partial line');
  const records = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as MetricsRecord;
      } catch {
        throw new Error(`metrics.jsonl line ${i + 1} is not JSON: ${line.slice(0, 200)}`);
      }
    });
  return {
    config,
    summary,
    records,
    steps: records.filter((r): r is StepRecord => r.kind === 'step'),
    evals: records.filter((r): r is EvalRecord => r.kind === 'eval'),
    events: records.filter((r): r is EventRecord => r.kind === 'event'),
    hasModel: existsSync(join(dir, 'model', 'model.json')),
  };
}

// ---- containers ----------------------------------------------------------------------------

/**
 * The coordinator container (@shardlab/testcontainers' coordinatorContainer with this suite's images and token),
 * started: `coordinator` on the network, results bind-mounted from `resultsDir`, resolved once healthy.
 */
export async function startCoordinator(network: StartedNetwork, resultsDir: string, args: readonly string[]): Promise<StartedTestContainer> {
  return coordinatorContainer({ image: images().coordinator, network, token: CLUSTER_TOKEN, resultsDir, command: args })
    .withLabels({ 'org.shardlab.e2e': 'coordinator' })
    .start();
}

/**
 * A trainer container named `name` (its --name, shown in the coordinator's messages).
 * `waitForJoin` (default): resolves once it has joined the run; otherwise as soon as it started.
 */
export async function startTrainer(
  network: StartedNetwork,
  name: string,
  extraArgs: readonly string[] = [],
  { waitForJoin = true, alias, token = CLUSTER_TOKEN }: { waitForJoin?: boolean; alias?: string; token?: string } = {},
): Promise<StartedTestContainer> {
  return trainerContainer({ image: images().trainer, network, token, alias, waitForJoin, command: ['--name', name, '--connect-timeout', '60', ...extraArgs] })
    .withLabels({ 'org.shardlab.e2e': name })
    .start();
}

/** Exit code of the container once it exited; rejects if that takes longer than `timeoutMs`, with its log. */
export function waitForExit(container: StartedTestContainer, timeoutMs: number, what: string): Promise<number> {
  return waitForExitOf(container, timeoutMs, what, () => `; its log:\n${logsOf(container)}`);
}

/** SIGKILL, like a crashed host or an OOM kill: the trainer gets no chance to say goodbye. */
export async function killContainer(container: StartedTestContainer): Promise<void> {
  const client = await getContainerRuntimeClient();
  await client.container.getById(container.getId()).kill({ signal: 'SIGKILL' });
}

/** stdout + stderr of a container so far (docker logs). */
export function logsOf(container: StartedTestContainer | string): string {
  const id = typeof container === 'string' ? container : container.getId();
  const r = spawnSync('docker', ['logs', id], { encoding: 'utf8', timeout: 30_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

/** Stops and removes containers (exited ones too); never throws, cleanup must go on. */
export async function removeContainers(containers: readonly StartedTestContainer[]): Promise<void> {
  await Promise.all(containers.map((c) => c.stop({ timeout: 0, remove: true }).catch(() => undefined)));
}

// ---- gRPC, from the host ------------------------------------------------------------------

export interface JoinOutcome {
  code: grpc.status | null;
  details: string;
}

/** GetStatus and Join against a coordinator container's mapped port on localhost. */
export class CoordinatorClient {
  private readonly client: InstanceType<ReturnType<typeof loadCoordinatorService>['Coordinator']>;

  constructor(container: StartedTestContainer) {
    // 127.0.0.1 rather than "localhost": Node may resolve that to ::1 first.
    const host = container.getHost() === 'localhost' ? '127.0.0.1' : container.getHost();
    const { Coordinator } = loadCoordinatorService();
    this.client = new Coordinator(`${host}:${container.getMappedPort(PORT)}`, grpc.credentials.createInsecure(), {
      ...CHANNEL_OPTIONS,
      interceptors: [identityInterceptor({ token: CLUSTER_TOKEN })],
    });
  }

  status(timeoutMs = 3000): Promise<RunStatus__Output> {
    return new Promise((resolve, reject) =>
      this.client.getStatus({}, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res!))),
    );
  }

  /** A raw Join, as a (possibly broken) trainer would send it. */
  join(request: { protocolVersion: number; name: string; backend: string }, timeoutMs = 5000): Promise<JoinOutcome> {
    return new Promise((resolve) =>
      this.client.join(request, { deadline: Date.now() + timeoutMs }, (err) =>
        resolve(err ? { code: (err as grpc.ServiceError).code, details: (err as grpc.ServiceError).details } : { code: null, details: '' }),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}

/** Calls `probe` every `intervalMs` until it returns a value (not undefined) or `timeoutMs` passed. */
export async function pollFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const grpcStatus = grpc.status;
