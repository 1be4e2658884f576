import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';

/** Where a run's results came from, as W&B and MLflow record it: into config.json. */
export interface Provenance {
  /** shardlab's version (the workspace's package.json). */
  shardlab: string;
  /** The git commit of the checkout shardlab runs from, with "+changes" when its tree differs; null outside a checkout. */
  commit: string | null;
  /** The command line, without the node binary (run tokens never travel on it: they come by file or environment). */
  command: string[];
  host: string;
  node: string;
  platform: string;
}

/** The workspace root: the nearest directory above this file with a package.json named shardlab. */
function workspaceRoot(): string | null {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (!existsSync(pkg)) continue;
    try {
      if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'shardlab') return dir;
    } catch {
      // not ours; go on up
    }
  }
  return null;
}

export function provenance(argv: readonly string[] = process.argv): Provenance {
  const root = workspaceRoot();
  let version = 'unknown';
  let commit: string | null = null;
  if (root) {
    try {
      version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? version;
    } catch {
      // keep 'unknown'
    }
    try {
      const git = (args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
      commit = git(['rev-parse', 'HEAD']) + (git(['status', '--porcelain', '--untracked-files=no']) ? '+changes' : '');
    } catch {
      commit = null; // not a checkout (an npm install, a container image), or no git
    }
  }
  return { shardlab: version, commit, command: argv.slice(1), host: hostname(), node: process.version, platform: `${process.platform}-${process.arch}` };
}
