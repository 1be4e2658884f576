import { PROTOCOL_VERSION, type RunStatus__Output } from '@shardlab/protocol';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadNative } from '@shardlab/native';
import {
  CoordinatorClient,
  SMALL_DATA,
  grpcStatus,
  killContainer,
  logsOf,
  makeResultsDir,
  pollFor,
  readRunFiles,
  removeContainers,
  removeDir,
  startCoordinator,
  startTrainer,
  waitForExit,
} from './support/cluster';

/**
 * The coordinator and trainers as separate containers on a private Docker network (testcontainers):
 * trainers reach the coordinator by its network alias, the test reaches it on a mapped localhost
 * port (GetStatus) and reads the files it writes to a bind-mounted host directory.
 */

const WORKERS = 4;
const TRAINERS = Array.from({ length: WORKERS }, (_, i) => `trainer-${i}`);

let network: StartedNetwork;
let containers: StartedTestContainer[];
let clients: CoordinatorClient[];
let dirs: string[];

beforeEach(async () => {
  network = await new Network().start();
  containers = [];
  clients = [];
  dirs = [];
});

afterEach(async () => {
  for (const c of clients) c.close();
  await removeContainers(containers);
  await network.stop().catch(() => undefined);
  for (const d of dirs) removeDir(d);
});

async function coordinator(name: string, args: readonly string[]): Promise<{ container: StartedTestContainer; client: CoordinatorClient; dir: string }> {
  const dir = makeResultsDir(name);
  dirs.push(dir);
  const container = await startCoordinator(network, dir, args);
  containers.push(container);
  const client = new CoordinatorClient(container);
  clients.push(client);
  return { container, client, dir };
}

async function trainers(names: readonly string[], extraArgs: readonly string[] = []): Promise<StartedTestContainer[]> {
  const started = await Promise.all(names.map((n) => startTrainer(network, n, extraArgs)));
  containers.push(...started);
  return started;
}

/** The worker index a trainer container was given (from its "worker N/W joined run" line). */
function workerIndexOf(trainer: StartedTestContainer): number {
  const m = / worker (\d+)\/\d+ joined run /.exec(logsOf(trainer));
  if (!m) throw new Error(`no "joined run" line in the trainer's log:\n${logsOf(trainer)}`);
  return Number(m[1]);
}

describe('a cluster of containers (coordinator + 4 trainers on a Docker network)', () => {
  it('runs label-per-node to completion: every trainer contributes every step, accuracy well above chance', async () => {
    const STEPS = 100;
    const { container, client, dir } = await coordinator('run', [
      '--workers', String(WORKERS), '--strategy', 'label-per-node', '--steps', String(STEPS), '--eval-every', '25',
      ...SMALL_DATA, '--join-timeout', '120',
    ]);
    const before = await client.status();
    expect(before).toMatchObject({ state: 'waiting', joined: 0, workers: WORKERS, steps: STEPS, strategy: 'label-per-node' });

    const started = await trainers(TRAINERS);
    // Watch the run from the outside while it goes (GetStatus every 250 ms) until the coordinator exits.
    const seen: RunStatus__Output[] = [];
    let exited = false;
    const exit = waitForExit(container, 180_000, 'the coordinator').finally(() => (exited = true));
    while (!exited) {
      const s = await client.status(1000).catch(() => null);
      if (s) seen.push(s);
      await new Promise((r) => setTimeout(r, 250));
    }
    const code = await exit;
    const log = logsOf(container);
    expect(code, log).toBe(0);

    // GetStatus while running: 4 joined, and every worker's contribution count = steps completed.
    const running = seen.filter((s) => s.state === 'running' && s.step > 0);
    expect(running.length, `statuses seen: ${JSON.stringify(seen.map((s) => [s.state, s.step]))}`).toBeGreaterThan(0);
    for (const s of running) {
      expect(s.joined).toBe(WORKERS);
      expect(s.contributions).toEqual(Array(WORKERS).fill(s.step));
    }

    // The files, read back from the host directory.
    const run = readRunFiles(dir);
    expect(run.config).toMatchObject({ workers: WORKERS, strategy: 'label-per-node', steps: STEPS, dataset: 'synthetic' });
    expect(run.summary).toMatchObject({ status: 'completed', error: null, workers: WORKERS, steps: STEPS, stepsCompleted: STEPS });
    expect(run.hasModel).toBe(true);
    // The images carry the addon built on this host and OpenBLAS's library: where the host has the native
    // backend, every container computes on it (and the coordinator evaluates on it).
    const backend = loadNative().ok ? 'native' : 'wasm';
    expect(run.summary).toMatchObject({ backend, trainerBackends: Array(WORKERS).fill(backend) });
    expect(run.steps.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, t) => t));
    for (const r of run.steps) {
      expect(r.workerLoss, `step ${r.step}`).toHaveLength(WORKERS);
      for (const l of r.workerLoss) expect(Number.isFinite(l), `step ${r.step} workerLoss ${JSON.stringify(r.workerLoss)}`).toBe(true);
    }
    const joined = run.events.filter((e) => e.event === 'joined');
    expect(joined.map((e) => e.worker).sort()).toEqual([0, 1, 2, 3]);
    expect(joined.map((e) => /joined: (\S+)/.exec(e.message)?.[1]).sort()).toEqual(TRAINERS);
    // 4 classes: chance is 0.25. The synthetic data reaches ~0.68 after 100 label-per-node steps.
    const last = run.evals.at(-1)!;
    expect(last.step).toBe(STEPS);
    expect(last.testAccuracy).toBeGreaterThan(0.5);
    expect(run.summary!['finalTestAccuracy']).toBe(last.testAccuracy);

    for (const t of started) {
      expect(await waitForExit(t, 30_000, 'a trainer'), logsOf(t)).toBe(0);
      expect(logsOf(t)).toContain(`run finished after ${STEPS} steps`);
    }
  });

  // The ring, and halving-doubling (each trainer then talks to its log2(4) = 2 partners, not only its neighbours).
  for (const collective of ['ring', 'halving-doubling'] as const) it(`averages among the containers (--collective ${collective}): trainers reach each other over the network`, async () => {
    const STEPS = 60;
    const { container, dir } = await coordinator(collective, [
      '--workers', String(WORKERS), '--strategy', 'label-per-node', '--steps', String(STEPS), '--eval-every', '30',
      '--collective', collective, '--checksum-every', '1', ...SMALL_DATA, '--join-timeout', '120',
    ]);
    // Each trainer listens on every interface of its container and tells the others its network alias.
    const started = await Promise.all(
      TRAINERS.map((name) => startTrainer(network, name, ['--peer-host', '0.0.0.0', '--peer-port', '50052', '--peer-address', `${name}:50052`], { alias: name })),
    );
    containers.push(...started);
    const code = await waitForExit(container, 180_000, 'the coordinator');
    expect(code, logsOf(container)).toBe(0);
    const run = readRunFiles(dir);
    expect(run.summary).toMatchObject({ status: 'completed', error: null, collective, workers: WORKERS, stepsCompleted: STEPS });
    // Every step's checksums compared across the 4 containers: all identical, or the run would have stopped.
    const checks = run.events.filter((e) => e.event === 'checksum');
    expect(checks).toHaveLength(STEPS);
    for (const c of checks) expect(c.message).toMatch(/^all 4 replicas at /);
    for (const r of run.steps) expect(r.reduceMs, `step ${r.step}`).toHaveLength(WORKERS);
    expect(run.evals.at(-1)!.testAccuracy).toBeGreaterThan(0.5);
    for (const t of started) {
      expect(await waitForExit(t, 30_000, 'a trainer'), logsOf(t)).toBe(0);
      expect(logsOf(t)).toMatch(new RegExp(`${collective} peer at trainer-\\d:50052`));
    }
  });

  it('a trainer killed mid-run: the coordinator stops within --step-timeout with an error naming it; files intact', async () => {
    const STEP_TIMEOUT = 8;
    const { container, client, dir } = await coordinator('lost', [
      '--workers', String(WORKERS), '--strategy', 'iid', '--steps', '100000', '--eval-every', '1000',
      '--step-timeout', String(STEP_TIMEOUT), ...SMALL_DATA, '--join-timeout', '120',
    ]);
    const started = await trainers(TRAINERS);
    await pollFor(async () => ((await client.status(1000)).step >= 10 ? true : undefined), 120_000, 'the run to pass step 10');

    const victim = started[2]!;
    const victimIndex = workerIndexOf(victim);
    const killedAt = Date.now();
    await killContainer(victim);

    // GetStatus every 100 ms until the coordinator says the run failed.
    const failed = await pollFor(
      async () => {
        const s = await client.status(1000);
        return s.state === 'failed' ? s : undefined;
      },
      (STEP_TIMEOUT + 20) * 1000,
      'the coordinator to declare the run failed',
      100,
    );
    const detectedAfter = (Date.now() - killedAt) / 1000;
    // The deadline runs from the start of the step in progress, which began before the kill.
    expect(detectedAfter).toBeLessThanOrEqual(STEP_TIMEOUT + 2.5);
    expect(failed.error).toContain(`no gradient from worker ${victimIndex} (trainer-2)`);
    expect(failed.error).toContain(`within ${STEP_TIMEOUT} s (--step-timeout)`);
    for (const other of ['trainer-0', 'trainer-1', 'trainer-3']) expect(failed.error).not.toContain(`(${other})`);

    // It exits (never hangs): after telling the survivors, at most 5 s for them to hear it.
    const code = await waitForExit(container, 30_000, 'the coordinator after losing a trainer');
    const exitedAfter = (Date.now() - killedAt) / 1000;
    expect(exitedAfter).toBeLessThanOrEqual(STEP_TIMEOUT + 5 + 10);
    const log = logsOf(container);
    expect(code, log).toBe(1);
    expect(log).toContain(`run failed: ${failed.error}`);
    console.info(
      `trainer-2 (worker ${victimIndex}) killed at step ~${failed.step}: run declared failed after ${detectedAfter.toFixed(1)} s, ` +
        `coordinator exited (code ${code}) after ${exitedAfter.toFixed(1)} s (--step-timeout ${STEP_TIMEOUT})`,
    );

    // What it wrote before is intact; summary.json says why it stopped.
    const run = readRunFiles(dir);
    expect(run.config).toMatchObject({ runId: failed.runId, workers: WORKERS, stepTimeout: STEP_TIMEOUT });
    expect(run.summary).toMatchObject({ status: 'failed', error: failed.error, stepsCompleted: failed.step });
    expect(run.steps.map((r) => r.step)).toEqual(Array.from({ length: failed.step }, (_, t) => t));
    for (const r of run.steps) expect(r.workerLoss).toHaveLength(WORKERS);
    expect(run.records.at(-1)).toMatchObject({ kind: 'event', event: 'stopped', message: failed.error });
    expect(run.hasModel).toBe(false);

    // The survivors were told and exit with an error that says why.
    for (const t of started.filter((t) => t !== victim)) {
      expect(await waitForExit(t, 30_000, 'a surviving trainer'), logsOf(t)).toBe(1);
      // Its push of the step that never completed is answered with the reason.
      expect(logsOf(t)).toContain(`run stopped by the coordinator at step ${failed.step}: ${failed.error}`);
    }
  });

  it('refuses a trainer with the wrong protocol version and malformed joins; the good trainers still complete the run', async () => {
    const STEPS = 30;
    const { container, client, dir } = await coordinator('refused', [
      '--workers', String(WORKERS), '--strategy', 'iid', '--steps', String(STEPS), '--eval-every', String(STEPS),
      ...SMALL_DATA, '--join-timeout', '120',
    ]);

    // A trainer container that speaks protocol 99: refused at Join, exits 1, says why.
    const bad = await startTrainer(network, 'trainer-v99', ['--protocol-version', '99'], { waitForJoin: false });
    containers.push(bad);
    const badCode = await waitForExit(bad, 60_000, 'the protocol-99 trainer');
    const badLog = logsOf(bad);
    expect(badCode, badLog).toBe(1);
    expect(badLog).toContain(
      `FAILED_PRECONDITION: protocol version mismatch: trainer speaks shardlab.v1 protocol 99, coordinator speaks ${PROTOCOL_VERSION}`,
    );

    // A trainer without the run token: refused before its Join is read, exits 1, says why.
    const outsider = await startTrainer(network, 'trainer-no-token', [], { waitForJoin: false, token: '' });
    containers.push(outsider);
    const outsiderCode = await waitForExit(outsider, 60_000, 'the trainer without a token');
    expect(outsiderCode, logsOf(outsider)).toBe(1);
    expect(logsOf(outsider)).toMatch(/UNAUTHENTICATED: \w+: this run requires its token/);

    // Malformed joins straight from the test: no backend; protocol_version never set (proto3 default 0).
    const noBackend = await client.join({ protocolVersion: PROTOCOL_VERSION, name: 'no-backend', backend: '' });
    expect(noBackend.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(noBackend.details).toContain('JoinRequest.backend');
    const unset = await client.join({ protocolVersion: 0, name: 'unset-version', backend: 'cpu' });
    expect(unset.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(unset.details).toContain(`protocol 0 (unset), coordinator speaks ${PROTOCOL_VERSION}`);

    // None of them took a slot.
    expect(await client.status()).toMatchObject({ state: 'waiting', joined: 0, workers: WORKERS });

    // The cluster keeps working: the good trainers join and complete the run.
    const good = await trainers(TRAINERS);
    const code = await waitForExit(container, 120_000, 'the coordinator');
    expect(code, logsOf(container)).toBe(0);
    const run = readRunFiles(dir);
    expect(run.summary).toMatchObject({ status: 'completed', workers: WORKERS, stepsCompleted: STEPS });
    const joined = run.events.filter((e) => e.event === 'joined').map((e) => /joined: (\S+)/.exec(e.message)?.[1]);
    expect(joined.sort()).toEqual(TRAINERS);
    for (const t of good) expect(await waitForExit(t, 30_000, 'a trainer'), logsOf(t)).toBe(0);
  });
});
