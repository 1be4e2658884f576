import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir } from './testing/cli';

/*
 * `shardlab data` as a user types it: import a CSV, inspect the directory, train on it; bad input gets one line
 * and exit code 2; Ctrl-C in the middle of an import leaves nothing at DIR. The import itself is tested against
 * NumPy, Pillow and a Parquet writer in libs/data-import.
 */
describe('shardlab data', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports a CSV, inspects it and trains on it with --dataset npy:DIR', async () => {
    // Two features that separate three classes; 600 rows.
    const rows = Array.from({ length: 600 }, (_, i) => {
      const cls = ['setosa', 'versicolor', 'virginica'][i % 3]!;
      return `${(i % 3) + Math.sin(i) * 0.2},${(i % 3) * 2 + Math.cos(i) * 0.2},${cls}`;
    });
    writeFileSync(join(dir, 'iris.csv'), ['petal,sepal,species', ...rows].join('\n') + '\n');
    const imported = await runCli(['data', 'import', join(dir, 'iris.csv'), join(dir, 'iris'), '--label', 'species'], 60_000);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/csv -> 600 samples \(train \d+, test \d+\) of shape \(2\) float32/);
    expect(imported.stdout).toContain('3 classes: setosa 200, versicolor 200, virginica 200');
    const inspected = await runCli(['data', 'inspect', join(dir, 'iris')], 60_000);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/train: \d+ samples; features \(2\) <f4 in train-x\.npy; labels \|u1 in train-y\.npy/);
    const run = await runCli(['run', '--dataset', `npy:${join(dir, 'iris')}`, '--workers', '2', '--batch-size', '32', '--steps', '150', '--lr', '0.1', '--eval-every', '150', '--quiet', '--out', join(dir, 'run')], 120_000);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8'));
    expect(summary.finalTestAccuracy).toBeGreaterThan(0.9);
  }, 240_000);

  it('refuses bad input with one line and exit code 2, writing nothing', async () => {
    writeFileSync(join(dir, 'bad.csv'), 'a,label\n1,x\nnope,y\n');
    const bad = await runCli(['data', 'import', join(dir, 'bad.csv'), join(dir, 'bad')], 60_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('bad.csv line 3, column "a": "nope" is not a finite number');
    expect(existsSync(join(dir, 'bad'))).toBe(false);
    const missing = await runCli(['data', 'import', join(dir, 'nothing-here'), join(dir, 'bad')], 60_000);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nothing-here: no such file or directory');
    const usage = await runCli(['data', 'import', join(dir, 'bad.csv')], 60_000);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('name the source and the dataset directory to write: shardlab data import SRC DIR');
    const noDataset = await runCli(['data', 'inspect', dir], 60_000);
    expect(noDataset.code).toBe(2);
    expect(noDataset.stderr).toContain('no dataset.json there');
    const help = await runCli(['data', '--help'], 60_000);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: shardlab data import SRC DIR [options]');
  }, 120_000);

  it('Ctrl-C in the middle of an import leaves nothing at DIR', async () => {
    // Large enough that the import still runs when its first progress line comes (after a second), on any machine.
    const big = Array.from({ length: 2_000_000 }, (_, i) => `${i % 7},${i % 11},${i % 13},${i % 17},${i % 2}`);
    writeFileSync(join(dir, 'big.csv'), ['a,b,c,d,label', ...big].join('\n') + '\n');
    const { child, exited } = await startCli(['data', 'import', join(dir, 'big.csv'), join(dir, 'big')], /import: [\d,]+ samples/, 60_000);
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(existsSync(join(dir, 'big'))).toBe(false);
  }, 120_000);
});
