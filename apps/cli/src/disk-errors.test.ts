import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './testing/cli';

/*
 * A run file that cannot be written stops the run with one line naming the file and the cause, not a stack
 * trace. The full disk is the kernel's own: metrics.jsonl is a link to /dev/full, where every write fails with
 * ENOSPC (tests run as root, for whom a read-only directory is no obstacle).
 */
describe('disk errors', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.runIf(existsSync('/dev/full'))('a full disk under metrics.jsonl stops the run naming the file; summary.json says why', async () => {
    const out = join(dir, 'full');
    mkdirSync(out, { recursive: true });
    symlinkSync('/dev/full', join(out, 'metrics.jsonl'));
    const r = await runCli(['run', '--steps', '20', '--samples', '2000', '--test-samples', '200', '--out', out, '--quiet'], 120_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`shardlab run: run failed: cannot write ${join(out, 'metrics.jsonl')}: ENOSPC (no space left on the device)`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'failed', error: `cannot write ${join(out, 'metrics.jsonl')}: ENOSPC (no space left on the device)` });
  }, 150_000);
});
