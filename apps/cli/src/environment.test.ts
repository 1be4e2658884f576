import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './testing/cli';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** This process's environment without any SHARDLAB_ variable, plus `extra`. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SHARDLAB_'))), ...extra };
}

describe('every option from the environment', () => {
  it('run takes SHARDLAB_<KEY> under the command line: flags and key=value win; config.json records the result', async () => {
    const out = join(dir, 'run');
    const r = await runCli(
      ['run', '--lr', '0.2', 'seed=5', '--out', out],
      120_000,
      env({ SHARDLAB_STEPS: '7', SHARDLAB_BATCH_SIZE: '16', SHARDLAB_LR: '0.9', SHARDLAB_SEED: '9', SHARDLAB_SAMPLES: '2000', SHARDLAB_TEST_SAMPLES: '200', SHARDLAB_QUIET: 'true', SHARDLAB_WORKERS: '2' }),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/step \d+\/7/); // SHARDLAB_QUIET
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ steps: 7, batchSize: 16, lr: 0.2, seed: 5, workers: 2, samples: 2000 });
  }, 120_000);

  it('a bad value names the variable, for run, sweep, coordinator and trainer alike', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['run'], { SHARDLAB_BATCH_SIZE: 'lots' }, /^shardlab run: SHARDLAB_BATCH_SIZE: must be an integer from 1 to 65536, got "lots"$/m],
      [['run'], { SHARDLAB_STRATEGY: 'bogus' }, /^shardlab run: SHARDLAB_STRATEGY: unknown value "bogus"; allowed: iid/m],
      [['sweep', 'experiments/smoke.yaml'], { SHARDLAB_ON_CHANGE: 'maybe' }, /SHARDLAB_ON_CHANGE: unknown value "maybe"; allowed: stop, redo, keep/],
      [['coordinator', '--port', '0'], { SHARDLAB_WORKERS: '0' }, /^shardlab coordinator: SHARDLAB_WORKERS: must be an integer from 1 to 64/m],
      [['coordinator'], { SHARDLAB_HOST: '0.0.0.0', SHARDLAB_PORT: '0' }, /SHARDLAB_HOST 0\.0\.0\.0: listening beyond this machine without a run token/],
      [['trainer'], { SHARDLAB_COORDINATOR: 'nowhere' }, /^shardlab trainer: SHARDLAB_COORDINATOR: expected HOST:PORT, got "nowhere"$/m],
      [['trainer', '--coordinator', '127.0.0.1:1'], { SHARDLAB_CONNECT_TIMEOUT: '-1' }, /SHARDLAB_CONNECT_TIMEOUT: must be a number from 0\.1 to 86400/],
    ];
    for (const [args, vars, message] of cases) {
      const r = await runCli(args, 60_000, env(vars));
      expect(r.code, `${args.join(' ')} ${JSON.stringify(vars)}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  }, 120_000);
});
