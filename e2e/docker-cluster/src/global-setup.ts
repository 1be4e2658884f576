import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { IMAGES, REPO_ROOT, type ClusterImages } from './support/env';

declare module 'vitest' {
  export interface ProvidedContext {
    shardlabImages: ClusterImages;
  }
}

/**
 * Runs once per test run, before any test file:
 *   1. a Docker engine must answer - otherwise the run FAILS (never skips) and says how to get one;
 *   2. the coordinator and trainer images are built ONCE with deploy/build-images.sh (the same
 *      script as `nx run deploy:docker-build`): offline, from this checkout, never pulling.
 */
export default function setup(project: TestProject): void {
  // Also set here (not only in vitest.config's test.env), for this main process.
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] = 'localhost';

  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 30_000 });
  if (info.error || info.status !== 0) {
    const why = info.error ? info.error.message : (info.stderr || info.stdout).trim().split('\n').slice(-3).join(' / ');
    throw new Error(
      `The docker-cluster tests need a Docker engine, and none answers ('docker info' failed: ${why}).\n` +
        `  'bash .ci/run' installs and starts one (it runs deploy/ensure-docker.sh: Docker engine, Compose v2 and v1,\n` +
        `  and the offline base image); on a development machine 'sudo bash deploy/ensure-docker.sh' does the same.`,
    );
  }

  // Under Nx the test target depends on @shardlab/cli:build, so dist/ is fresh; run directly
  // (npx vitest), the script compiles first.
  const underNx = Boolean(process.env['NX_TASK_TARGET_PROJECT']);
  const script = join(REPO_ROOT, 'deploy', 'build-images.sh');
  const started = Date.now();
  const build = spawnSync('bash', [script, '--quiet', ...(underNx ? ['--no-ts-build'] : [])], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 15 * 60_000,
    env: {
      ...process.env,
      SHARDLAB_COORDINATOR_IMAGE: IMAGES.coordinator,
      SHARDLAB_TRAINER_IMAGE: IMAGES.trainer,
    },
  });
  if (build.error || build.status !== 0) {
    throw new Error(
      `building the images failed (${build.error?.message ?? `bash ${resolve(script)} exited with ${build.status}`}); see its output above`,
    );
  }
  process.stderr.write(`[docker-cluster] images ready in ${((Date.now() - started) / 1000).toFixed(0)} s: ${IMAGES.coordinator}, ${IMAGES.trainer}\n`);
  project.provide('shardlabImages', IMAGES);
}
