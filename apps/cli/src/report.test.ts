import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReportData } from '@shardlab/report';
import { runCli, tempDir } from './testing/cli';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SMALL = ['--samples', '1000', '--test-samples', '200', '--features', '32', '--hidden', '16', '--workers', '2', '--batch-size', '16', '--steps', '12', '--eval-every', '4'];

function embedded(html: string): ReportData {
  return JSON.parse(html.match(/<script type="application\/json" id="report-data">(.*?)<\/script>/s)![1]!) as ReportData;
}

describe('shardlab report', () => {
  it('puts a compare directory, a sweep directory and loose runs (grouped by seed) in one page', async () => {
    const sweepFile = join(dir, 'tiny.yaml');
    writeFileSync(
      sweepFile,
      'name: tiny\nbase: { dataset: synthetic, samples: 1000, testSamples: 200, features: 32, hidden: [16], workers: 2, batchSize: 16, steps: 12, evalEvery: 4 }\nseeds: [1, 2]\narms:\n  - { name: iid, strategy: iid }\n  - { name: lpn, strategy: label-per-node }\n',
    );
    const runs = await Promise.all([
      runCli(['sweep', sweepFile, '--out', join(dir, 'sweep'), '--quiet'], 240_000),
      runCli(['compare', '--strategies', 'iid,sequential-single-class', '--dataset', 'synthetic', ...SMALL, '--out', join(dir, 'compare'), '--quiet'], 240_000),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    for (const seed of [1, 2]) {
      const r = await runCli(['run', '--strategy', 'dirichlet', '--seed', String(seed), ...SMALL, '--out', join(dir, `loose/dirichlet-s${seed}`), '--quiet']);
      expect(r.code, r.stderr).toBe(0);
    }

    const out = join(dir, 'all.html');
    const r = await runCli(['report', join(dir, 'compare'), join(dir, 'sweep'), join(dir, 'loose'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Report: ${out}`);
    const data = embedded(readFileSync(out, 'utf8'));
    // Both sources' arms; the two "iid" arms told apart by their directory; the loose seeds grouped.
    expect(data.arms.map((a) => a.name)).toEqual(['sweep/iid', 'lpn', 'compare/iid', 'sequential-single-class', 'dirichlet-s1']);
    expect(data.arms.map((a) => a.seeds)).toEqual([[1, 2], [1, 2], [1], [1], [1, 2]]);
    for (const a of data.arms) {
      expect(a.loss!.x, a.name).toHaveLength(12);
      expect(a.accuracy!.x, a.name).toEqual([4, 8, 12]);
      expect(a.perClassCurves, a.name).toHaveLength(4);
    }
    // What tells the compare arms apart is their strategy.
    expect(data.arms.find((a) => a.name === 'sequential-single-class')!.settings).toMatch(/strategy=sequential-single-class/);
    expect(data.runs).toHaveLength(4 + 2 + 2);
    expect(r.stdout).toMatch(/\| dirichlet-s1 +\| +2 \|/);

    // The directory above them all, as TensorBoard users give --logdir: every run below it, two levels down too.
    const tree = await runCli(['report', dir, '--out', join(dir, 'tree.html')]);
    expect(tree.code, tree.stderr).toBe(0);
    expect(embedded(readFileSync(join(dir, 'tree.html'), 'utf8')).runs).toHaveLength(4 + 2 + 2);
  }, 300_000);

  it('names a directory without runs, and exits non-zero', async () => {
    const r = await runCli(['report', join(dir, 'missing')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`shardlab report: ${join(dir, 'missing')}: no such directory`);
    const emptyDir = tempDir();
    const empty = await runCli(['report', emptyDir]);
    rmSync(emptyDir, { recursive: true, force: true });
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim()).toMatch(new RegExp(`^shardlab report: ${emptyDir}: no runs in it \\(a run directory has summary.json`));
    const none = await runCli(['report']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/name at least one run, compare or sweep directory/);
  });
});
