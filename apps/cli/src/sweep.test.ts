import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './testing/cli';

const SMOKE = resolve(__dirname, '../../../experiments/smoke.yaml');

describe('shardlab sweep', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every arm x seed, writes results and report, and resumes without rerunning', async () => {
    const out = join(dir, 'smoke');
    const first = await runCli(['sweep', SMOKE, '--out', out, '--quiet'], 240_000);
    expect(first.code, first.stderr).toBe(0);
    for (const f of ['results.csv', 'results.md', 'report.html', 'iid/seed-1/summary.json', 'seq-cyclic-r1/seed-1/metrics.jsonl', 'iid/seed-1/snapshots']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    // The non-reference arm records weight divergence from the iid run with the same seed.
    const evals = readFileSync(join(out, 'seq-cyclic-r1/seed-1/metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"kind":"eval"'));
    expect(evals.length).toBeGreaterThan(0);
    for (const e of evals) expect(JSON.parse(e).weightDivergence).toBeGreaterThan(0);
    const summaryTime = statSync(join(out, 'iid/seed-1/summary.json')).mtimeMs;
    const again = await runCli(['sweep', SMOKE, '--out', out, '--quiet'], 120_000);
    expect(again.code, again.stderr).toBe(0);
    expect(statSync(join(out, 'iid/seed-1/summary.json')).mtimeMs).toBe(summaryTime);
  }, 300_000);

  it('names the file and key of a bad experiment file', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\nseeds: [1]\narms:\n  - { name: a, strategy: iid }\n  - { name: b, strategy: nonsense }\n');
    const r = await runCli(['sweep', bad, '--out', join(dir, 'bad')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad\.yaml: arms\[1\]\.strategy: unknown value "nonsense"; allowed: iid/);
  });
});
