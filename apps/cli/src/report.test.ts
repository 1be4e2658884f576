import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReportData } from '@shardlab/report';
import { DEBIAN_PYTHON } from '@shardlab/testing';
import { runCli, tempDir } from './testing/cli';

const dir = tempDir();

/** Reads an exported table with Python's csv module: per run, its status, strategy, eval steps, train steps and workers. */
const PY_READ = `
import csv, json, sys
runs = {}
for row in csv.DictReader(open(sys.argv[1], newline='')):
    r = runs.setdefault(row['run'], {'status': row['status'], 'strategy': row['strategy'], 'accSteps': [], 'lossSteps': 0, 'workers': set()})
    if row['metric'] == 'test_accuracy': r['accSteps'].append(int(row['step']))
    if row['metric'] == 'loss' and row['worker'] == '': r['lossSteps'] += 1
    if row['worker'] != '': r['workers'].add(int(row['worker']))
for r in runs.values(): r['workers'] = sorted(r['workers'])
print(json.dumps({'runs': runs}))
`;
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
    // Provenance of every run: when it started and ended, and what made it where.
    const column = (name: string) => data.runHeader.indexOf(name);
    for (const run of data.runs) {
      expect(run.cells[column('made with')]).toMatch(/^shardlab \d+\.\d+\.\d+( @ [0-9a-f]{7}(\+changes)?)? · \S+ · (native|wasm|cpu|tensorflow)$/);
      expect(Date.parse(run.cells[column('ended')]!)).toBeGreaterThanOrEqual(Date.parse(run.cells[column('started')]!));
    }
    expect(r.stdout).toMatch(/\| dirichlet-s1 +\| +2 \|/);

    // The directory above them all, as TensorBoard users give --logdir: every run below it, two levels down too.
    const tree = await runCli(['report', dir, '--out', join(dir, 'tree.html')]);
    expect(tree.code, tree.stderr).toBe(0);
    expect(embedded(readFileSync(join(dir, 'tree.html'), 'utf8')).runs).toHaveLength(4 + 2 + 2);

    // A broken run (metrics cut short, no config.json) and an unfinished one (no summary.json) beside them: listed as
    // such, never drawn as arms.
    mkdirSync(join(dir, 'loose/broken'));
    writeFileSync(join(dir, 'loose/broken/metrics.jsonl'), readFileSync(join(dir, 'loose/dirichlet-s1/metrics.jsonl'), 'utf8').slice(0, 200));
    cpSync(join(dir, 'loose/dirichlet-s2'), join(dir, 'loose/unfinished'), { recursive: true });
    rmSync(join(dir, 'loose/unfinished/summary.json'));
    const messy = await runCli(['report', dir, '--out', join(dir, 'messy.html')]);
    expect(messy.code, messy.stderr).toBe(0);
    const messyData = embedded(readFileSync(join(dir, 'messy.html'), 'utf8'));
    expect(messyData.arms.map((a) => a.name)).not.toContain('broken');
    expect(messyData.arms.every((a) => !/undefined/.test(a.settings))).toBe(true);
    expect(messy.stdout).toMatch(/loose\/broken seed 0: broken: no config\.json nor summary\.json/);
    expect(messy.stdout).toMatch(/unfinished: no summary\.json in .*loose\/unfinished \(still running, or killed\)/);

    // The same tree as one long table, read back by Python's csv module.
    const table = join(dir, 'runs.csv');
    const exported = await runCli(['export', dir, '--out', table]);
    expect(exported.code, exported.stderr).toBe(0);
    const read = execFileSync(DEBIAN_PYTHON, ['-c', PY_READ, table], { encoding: 'utf8' });
    const stats = JSON.parse(read) as { runs: Record<string, { status: string; strategy: string; accSteps: number[]; lossSteps: number; workers: number[] }> };
    const byDir = (suffix: string) => Object.entries(stats.runs).find(([d]) => d.endsWith(suffix))![1];
    expect(Object.keys(stats.runs)).toHaveLength(4 + 2 + 2 + 2);
    expect(byDir('sweep/lpn/seed-2')).toMatchObject({ status: 'completed', strategy: 'label-per-node', accSteps: [4, 8, 12], lossSteps: 12, workers: [0, 1] });
    expect(byDir('compare/sequential-single-class')).toMatchObject({ status: 'completed', strategy: 'sequential-single-class', accSteps: [4, 8, 12] });
    expect(byDir('loose/unfinished')).toMatchObject({ status: 'unfinished', strategy: 'dirichlet', lossSteps: 12 });
    expect(byDir('loose/broken')).toMatchObject({ status: 'broken', strategy: '' });
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
