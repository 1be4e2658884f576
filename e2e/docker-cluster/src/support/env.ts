import { join, resolve } from 'node:path';

/** The checkout this test project lives in (e2e/docker-cluster/src/support -> repo root). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');

export interface ClusterImages {
  coordinator: string;
  trainer: string;
}

/** The images deploy/build-images.sh builds (the compose file's defaults, overridable like there). */
export const IMAGES: ClusterImages = {
  coordinator: process.env['SHARDLAB_COORDINATOR_IMAGE'] || 'shardlab-coordinator:latest',
  trainer: process.env['SHARDLAB_TRAINER_IMAGE'] || 'shardlab-trainer:latest',
};
