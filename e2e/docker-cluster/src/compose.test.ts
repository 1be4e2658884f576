import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerComposeEnvironment, Wait, type StartedDockerComposeEnvironment } from 'testcontainers';
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_TOKEN, NEVER_PULL, images, logsOf, makeResultsDir, readRunFiles, removeDir, resultsOwner, waitForExit } from './support/cluster';
import { DEPLOY_DIR } from './support/env';

/** deploy/compose.yaml itself: the file users run, brought up with Compose v2 by testcontainers. */

const COMPOSE_FILE = join(DEPLOY_DIR, 'compose.yaml');

function run(cmd: string, args: readonly string[], env: Record<string, string>): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message} (bash .ci/run / deploy/ensure-docker.sh install it)`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

let env: StartedDockerComposeEnvironment | null = null;

/**
 * Brings up the compose files of deploy/ under a fresh project name, with this suite's images, a results
 * directory of its own (removed after the test) and `settings` (SHARDLAB_ variables); resolves once the
 * coordinator is healthy. Returns the project name and the results directory.
 */
async function composeUp(files: string | string[], name: string, settings: Record<string, string>): Promise<{ project: string; dir: string; started: StartedDockerComposeEnvironment }> {
  const dir = makeResultsDir(name);
  dirs.push(dir);
  const owner = resultsOwner();
  const project = `shardlab-e2e-${randomBytes(4).toString('hex')}`;
  const started = await new DockerComposeEnvironment(DEPLOY_DIR, files)
    .withProjectName(project)
    .withPullPolicy(NEVER_PULL)
    .withEnvironment({
      SHARDLAB_COORDINATOR_IMAGE: images().coordinator,
      SHARDLAB_TRAINER_IMAGE: images().trainer,
      SHARDLAB_RESULTS: dir,
      SHARDLAB_UID: String(owner.uid),
      SHARDLAB_GID: String(owner.gid),
      ...settings,
      SHARDLAB_TOKEN: CLUSTER_TOKEN,
    })
    .withWaitStrategy('coordinator-1', Wait.forHealthCheck())
    .withStartupTimeout(120_000)
    .up();
  env = started;
  return { project, dir, started };
}
const dirs: string[] = [];

afterEach(async () => {
  await env?.down({ timeout: 0, removeVolumes: true }).catch(() => undefined);
  env = null;
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('deploy/compose.yaml', () => {
  it('is valid for Compose v2 and docker-compose 1.29, and SHARDLAB_WORKERS drives both the replicas and --workers', () => {
    const raw = readFileSync(COMPOSE_FILE, 'utf8');
    // Keys docker-compose 1.29 does not know (or Compose v2 deprecates): none at all.
    expect(raw).not.toMatch(/^(version|name|include):/m);
    expect(raw).not.toMatch(/^\s+(required|start_interval):/m);

    const v2 = run('docker', ['compose', '-f', COMPOSE_FILE, 'config', '--format', 'json'], { SHARDLAB_WORKERS: '3', SHARDLAB_TOKEN: CLUSTER_TOKEN });
    expect(v2.status, v2.out).toBe(0);
    const config = JSON.parse(v2.out.slice(v2.out.indexOf('{'))) as {
      services: Record<string, { scale?: number; deploy?: { replicas?: number }; environment: Record<string, string | null> }>;
    };
    expect(config.services['trainer']!.scale ?? config.services['trainer']!.deploy?.replicas).toBe(3);
    expect(config.services['coordinator']!.environment['SHARDLAB_WORKERS']).toBe('3');

    // A setting exported in the shell reaches the container as it is, by name.
    const v1 = run('docker-compose', ['-f', COMPOSE_FILE, 'config'], { SHARDLAB_WORKERS: '3', SHARDLAB_TOKEN: CLUSTER_TOKEN, SHARDLAB_STEPS: '77' });
    expect(v1.status, v1.out).toBe(0);
    expect(v1.out).toMatch(/^\s+scale: 3$/m);
    expect(v1.out).toMatch(/SHARDLAB_WORKERS: '3'/);
    expect(v1.out).toMatch(/SHARDLAB_STEPS: '77'/);
  });

  it('without SHARDLAB_TOKEN, refuses before it creates anything (Compose v2 and docker-compose 1.29)', () => {
    const project = `shardlab-e2e-${randomBytes(4).toString('hex')}`;
    const rest = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'SHARDLAB_TOKEN'));
    const noToken = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, env: { ...rest, SHARDLAB_COORDINATOR_IMAGE: images().coordinator, SHARDLAB_TRAINER_IMAGE: images().trainer } });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };
    for (const [cmd, args] of [
      ['docker', ['compose', '-p', project, '-f', COMPOSE_FILE, 'up', '-d']],
      ['docker-compose', ['-p', project, '-f', COMPOSE_FILE, 'up', '-d']],
    ] as const) {
      const r = noToken(cmd, [...args]);
      expect(r.status, r.out).not.toBe(0);
      expect(r.out).toContain('set SHARDLAB_TOKEN to the run secret, 16 characters or more (openssl rand -hex 16); nothing was started');
    }
    const left = spawnSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).stdout.trim();
    const networks = spawnSync('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
    expect(networks).toBe('');
  });

  // As docs/cluster.md says: relay by default; averaging among the trainers with two settings (each trainer then
  // listens on its container's network and advertises its host name, which Docker's DNS resolves for the others).
  const settings: { collective: string; env: Record<string, string> }[] = [
    { collective: 'relay', env: {} },
    { collective: 'halving-doubling', env: { SHARDLAB_COLLECTIVE: 'halving-doubling', SHARDLAB_PEER_HOST: '0.0.0.0', SHARDLAB_PEER_PORT: '50052' } },
  ];
  for (const { collective, env: extra } of settings) it(`runs an experiment to completion with 4 trainers, ${collective} (Compose v2 via DockerComposeEnvironment)`, async () => {
    const STEPS = 100;
    const WORKERS = 4;
    const { project, dir, started } = await composeUp('compose.yaml', `compose-${collective}`, {
      SHARDLAB_WORKERS: String(WORKERS),
      SHARDLAB_STRATEGY: 'label-per-node',
      SHARDLAB_STEPS: String(STEPS),
      SHARDLAB_SAMPLES: '4000',
      SHARDLAB_TEST_SAMPLES: '400',
      SHARDLAB_FEATURES: '784',
      ...extra,
    });

    const coordinator = started.getContainer('coordinator-1');
    const code = await waitForExit(coordinator, 180_000, 'the compose coordinator');
    expect(code, logsOf(coordinator)).toBe(0);

    const run = readRunFiles(dir);
    expect(run.summary).toMatchObject({ status: 'completed', workers: WORKERS, stepsCompleted: STEPS, strategy: 'label-per-node', collective });
    expect(run.hasModel).toBe(true);
    expect(run.steps).toHaveLength(STEPS);
    for (const r of run.steps) expect(r.workerLoss, `step ${r.step}`).toHaveLength(WORKERS);
    expect(run.evals.at(-1)!.testAccuracy).toBeGreaterThan(0.5);

    // Exactly SHARDLAB_WORKERS trainer containers ran, and each finished the run.
    const ps = spawnSync(
      'docker',
      ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=trainer'],
      { encoding: 'utf8' },
    );
    const trainerIds = ps.stdout.trim().split('\n').filter(Boolean);
    expect(trainerIds).toHaveLength(WORKERS);
    for (const id of trainerIds) {
      const state = spawnSync('docker', ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id], { encoding: 'utf8' }).stdout.trim();
      expect(state, logsOf(id)).toBe('exited 0');
      expect(logsOf(id)).toContain(`run finished after ${STEPS} steps`);
    }
  });
});

describe('deploy/compose.sweep.yaml', () => {
  it('runs a sweep on the compose cluster: the coordinator container serves each run, the trainers rejoin for each, then leave', async () => {
    const { project, dir, started } = await composeUp(['compose.yaml', 'compose.sweep.yaml'], 'compose-sweep', {
      // experiments/smoke.yaml: two arms of 2 workers, 40 steps each.
      SHARDLAB_SWEEP_FILE: 'smoke.yaml',
      SHARDLAB_WORKERS: '2',
      // The trainers leave this long after the last run.
      SHARDLAB_CONNECT_TIMEOUT: '10',
    });
    const coordinator = started.getContainer('coordinator-1');
    const code = await waitForExit(coordinator, 180_000, 'the sweep coordinator');
    expect(code, logsOf(coordinator)).toBe(0);
    const csv = readFileSync(join(dir, 'sweep', 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    for (const arm of ['iid', 'seq-cyclic-r1']) {
      const run = readRunFiles(join(dir, 'sweep', arm, 'seed-1'));
      expect(run.summary, arm).toMatchObject({ status: 'completed', workers: 2, stepsCompleted: 40 });
    }
    // Both trainer containers took part in both runs and then left on their own.
    const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=trainer'], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      const logs = logsOf(id);
      expect(logs.match(/run finished after 40 steps/g), logs).toHaveLength(2);
    }
  }, 300_000);
});
