import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, makeResultsDir, readRunFiles, removeDir } from './support/cluster';
import { DEPLOY_DIR } from './support/env';

/*
 * deploy/stack.yaml on a single-node Docker Swarm (`docker swarm init` works offline with local images): the
 * trainers average among themselves over the overlay network and every one contributes to every step; under
 * relay and the ring with --lost-worker replace, a trainer task killed mid-run is restarted by Swarm and takes its slot again.
 * The test initialises the swarm only if this node is in none, and leaves it only if it did.
 */
const STACK_FILE = join(DEPLOY_DIR, 'stack.yaml');
const SECRET = 'shardlab_token';

function docker(args: readonly string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; out: string } {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000, env, input: args.includes('-') ? randomBytes(16).toString('hex') : undefined });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

let createdSwarm = false;
let createdSecret = false;
const stacks: string[] = [];
const dirs: string[] = [];

beforeAll(() => {
  const state = docker(['info', '--format', '{{.Swarm.LocalNodeState}}']).out.trim();
  if (state !== 'active') {
    const init = docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    expect(init.status, init.out).toBe(0);
    createdSwarm = true;
  }
  if (docker(['secret', 'inspect', SECRET]).status !== 0) {
    const made = docker(['secret', 'create', SECRET, '-']);
    expect(made.status, made.out).toBe(0);
    createdSecret = true;
  }
}, 120_000);

afterAll(() => {
  for (const s of stacks) docker(['stack', 'rm', s]);
  // A stack's network goes a moment after its services; the secret and the swarm only once nothing uses them.
  const deadline = Date.now() + 60_000;
  while (stacks.some((s) => docker(['network', 'inspect', `${s}_cluster`]).status === 0) && Date.now() < deadline) spawnSync('sleep', ['1']);
  if (createdSecret) docker(['secret', 'rm', SECRET]);
  if (createdSwarm) docker(['swarm', 'leave', '--force']);
  for (const d of dirs) removeDir(d);
}, 120_000);

/** Deploys the stack file under a fresh name with `settings` (SHARDLAB_ variables); returns its name and results directory. */
function deploy(settings: Record<string, string>, files: readonly string[] = [STACK_FILE]): { stack: string; results: string } {
  const stack = `slab${randomBytes(3).toString('hex')}`;
  const results = makeResultsDir(`swarm-${stack}`);
  chmodSync(results, 0o777); // the coordinator task runs as the image's user (uid 1000), not root
  dirs.push(results);
  stacks.push(stack);
  const env = { ...process.env, SHARDLAB_COORDINATOR_IMAGE: images().coordinator, SHARDLAB_TRAINER_IMAGE: images().trainer, SHARDLAB_RESULTS: results, ...settings };
  const r = docker(['stack', 'deploy', ...files.flatMap((f) => ['-c', f]), stack], env);
  expect(r.status, r.out).toBe(0);
  return { stack, results };
}

/** The state of a service's newest task ("Complete 3 seconds ago", "Running ..."). */
const taskState = (service: string) => docker(['service', 'ps', service, '--format', '{{.CurrentState}}']).out.trim().split('\n')[0] ?? '';

async function until<T>(what: string, probe: () => T | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const logs = (service: string) => docker(['service', 'logs', service]).out.split('\n').filter((l) => !/\] step \d+\//.test(l)).slice(-20).join('\n');

describe('deploy/stack.yaml on Docker Swarm', () => {
  it('runs to completion with 2 trainer replicas averaging among themselves (halving-doubling over the overlay), every trainer in every step', async () => {
    const STEPS = 30;
    const { stack, results } = deploy({ SHARDLAB_WORKERS: '2', SHARDLAB_STEPS: String(STEPS), SHARDLAB_SAMPLES: '2000', SHARDLAB_TEST_SAMPLES: '200', SHARDLAB_COLLECTIVE: 'halving-doubling' });
    const state = await until('the coordinator task to end', () => (/^(Complete|Failed|Rejected)/.test(taskState(`${stack}_coordinator`)) ? taskState(`${stack}_coordinator`) : null), 240_000);
    expect(state, logs(`${stack}_coordinator`)).toMatch(/^Complete/);
    const run = readRunFiles(results);
    expect(run.summary).toMatchObject({ status: 'completed', workers: 2, stepsCompleted: STEPS, collective: 'halving-doubling' });
    expect(run.steps).toHaveLength(STEPS);
    for (const s of run.steps) expect(s.workerLoss.filter((l) => Number.isFinite(l)), `step ${s.step}`).toHaveLength(2);
    expect(run.hasModel).toBe(true);
  }, 300_000);

  // Under relay the coordinator's replica is the state the new task starts from; under the ring the survivor's
  // all-reduce fails, and the step is done again with the new task once it has joined, the ring re-formed.
  for (const collective of ['relay', 'ring'] as const) it(`under ${collective} with --lost-worker replace, a trainer task killed mid-run is restarted by Swarm and takes its slot again`, async () => {
    const STEPS = 300;
    const { stack, results } = deploy({
      SHARDLAB_WORKERS: '2',
      SHARDLAB_STEPS: String(STEPS),
      SHARDLAB_SAMPLES: '2000',
      SHARDLAB_TEST_SAMPLES: '200',
      SHARDLAB_COLLECTIVE: collective,
      SHARDLAB_LOST_WORKER: 'replace',
      SHARDLAB_STEP_TIMEOUT: '30',
      SHARDLAB_REPLACE_TIMEOUT: '120',
    });
    const metrics = join(results, 'metrics.jsonl');
    await until('40 steps', () => (existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').filter((l) => l.includes('"kind":"step"')).length >= 40 ? true : null), 240_000);
    const victim = docker(['ps', '-q', '--filter', `name=${stack}_trainer.1`]).out.trim().split('\n')[0]!;
    expect(docker(['kill', victim]).status).toBe(0);
    const state = await until('the coordinator task to end', () => (/^(Complete|Failed|Rejected)/.test(taskState(`${stack}_coordinator`)) ? taskState(`${stack}_coordinator`) : null), 300_000);
    expect(state, logs(`${stack}_coordinator`)).toMatch(/^Complete/);
    const run = readRunFiles(results);
    expect(run.summary).toMatchObject({ status: 'completed', stepsCompleted: STEPS, collective, lostWorkers: [] });
    expect(run.summary!['replacements']).toBeGreaterThanOrEqual(1);
    expect(logs(`${stack}_coordinator`)).toMatch(/joined as the replacement of the lost worker/);
    // Swarm restarted the killed task: the trainer service has more than two tasks in its history.
    expect(docker(['service', 'ps', `${stack}_trainer`, '-q']).out.trim().split('\n').length).toBeGreaterThan(2);
  }, 420_000);

  it('with deploy/stack.sweep.yaml runs a sweep: the coordinator task serves each run, the trainer replicas rejoin for each', async () => {
    const { stack, results } = deploy(
      { SHARDLAB_WORKERS: '2', SHARDLAB_SWEEP_FILE: 'smoke.yaml', SHARDLAB_CONNECT_TIMEOUT: '10' },
      [STACK_FILE, join(DEPLOY_DIR, 'stack.sweep.yaml')],
    );
    const state = await until('the coordinator task to end', () => (/^(Complete|Failed|Rejected)/.test(taskState(`${stack}_coordinator`)) ? taskState(`${stack}_coordinator`) : null), 240_000);
    expect(state, logs(`${stack}_coordinator`)).toMatch(/^Complete/);
    const csv = readFileSync(join(results, 'sweep', 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    for (const arm of ['iid', 'seq-cyclic-r1']) {
      const summary = JSON.parse(readFileSync(join(results, 'sweep', arm, 'seed-1', 'summary.json'), 'utf8'));
      expect(summary, arm).toMatchObject({ status: 'completed', workers: 2, stepsCompleted: 40 });
    }
  }, 300_000);
});
