import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFixtureSweep } from './fixtures';
import { DiskError, JsonlWriter, writeJsonFile, writingTo } from './files';
import {
  checkLabelHistogram,
  formatResultsCsv,
  formatResultsMarkdown,
  meanStd,
  parseMetrics,
  readRun,
  stepsToTarget,
  summarizeArms,
  writeResults,
  type EvalPoint,
  type RunResult,
  type SweepInfo,
} from './results';
import type { RunSummary } from './summary';

const evals = (accuracies: number[], every = 10): EvalPoint[] =>
  accuracies.map((testAccuracy, i) => ({ step: (i + 1) * every, testAccuracy, testLoss: 1, perClassAccuracy: [testAccuracy, testAccuracy] }));

/** A completed run with the given final numbers. */
function run(arm: string, seed: number, s: Partial<RunSummary>, accuracies: number[]): RunResult {
  const summary = {
    status: 'completed',
    error: null,
    strategy: arm,
    seed,
    finalTestAccuracy: accuracies.at(-1)!,
    perClassAccuracy: [0.5, 0.7],
    worstClassAccuracy: 0.5,
    finalLoss: 0.4,
    lossSwing: 0.1,
    trainerBackends: ['cpu'],
    ...s,
  } as RunSummary & Record<string, unknown>;
  return { arm, seed, dir: `/r/${arm}/seed-${seed}`, status: 'completed', error: null, summary, config: null, classNames: ['cat', 'dog'], steps: [], evals: evals(accuracies), histogram: null };
}

function failed(arm: string, seed: number, error: string): RunResult {
  return { arm, seed, dir: `/r/${arm}/seed-${seed}`, status: 'failed', error, summary: null, config: null, classNames: [], steps: [], evals: [], histogram: null };
}

const INFO: SweepInfo = {
  name: 'tiny',
  description: 'Two arms.',
  dataset: 'synthetic 2-class data',
  target: 0.8,
  reference: 'a',
  seeds: [1, 2],
  arms: [
    { name: 'a', settings: { strategy: 'iid' } },
    { name: 'b', settings: { strategy: 'sequential-single-class', runLength: 2 } },
  ],
  base: { workers: 2 },
  date: '2026-01-01T00:00:00.000Z',
};

// Arm a: final accuracy 0.8 and 0.9 (mean 85, std 5), target 0.8 reached at step 30 and 20.
// Arm b: one run never reaches 0.8, the other failed.
const RUNS = [
  run('a', 1, { finalLoss: 0.3, lossSwing: 0.05, worstClassAccuracy: 0.7 }, [0.5, 0.7, 0.8]),
  run('a', 2, { finalLoss: 0.5, lossSwing: 0.15, worstClassAccuracy: 0.8 }, [0.6, 0.85, 0.9]),
  run('b', 1, { finalLoss: 1.2, lossSwing: 0.6, worstClassAccuracy: 0.2 }, [0.4, 0.5, 0.6]),
  failed('b', 2, 'trainer-1 exited with code 1: out of memory, "really"'),
];

describe('aggregation', () => {
  it('steps to target: the first eval step at or above the target', () => {
    expect(stepsToTarget(evals([0.5, 0.8, 0.9]), 0.8)).toBe(20);
    expect(stepsToTarget(evals([0.5, 0.79]), 0.8)).toBeNull();
    expect(stepsToTarget([], 0.8)).toBeNull();
  });

  it('mean ± std skips missing values', () => {
    expect(meanStd([0.8, null, 0.9, NaN])).toEqual({ mean: expect.closeTo(0.85, 12), std: expect.closeTo(0.05, 12), n: 2 });
    expect(meanStd([null])).toBeNull();
  });

  it('summarizes each arm over its completed seeds', () => {
    const [a, b] = summarizeArms(RUNS, ['a', 'b'], 0.8);
    expect(a).toMatchObject({ arm: 'a', runs: 2, completed: 2, reached: 2 });
    expect(a!.finalAccuracy!.mean).toBeCloseTo(0.85, 12);
    expect(a!.finalAccuracy!.std).toBeCloseTo(0.05, 12);
    expect(a!.stepsToTarget).toEqual({ mean: 25, std: 5, n: 2 });
    expect(a!.finalLoss!.mean).toBeCloseTo(0.4, 12);
    expect(a!.worstClassAccuracy!.mean).toBeCloseTo(0.75, 12);
    expect(b).toMatchObject({ arm: 'b', runs: 2, completed: 1, reached: 0, stepsToTarget: null });
    expect(b!.finalAccuracy).toEqual({ mean: 0.6, std: 0, n: 1 });
  });
});

describe('results.md', () => {
  it('one row per arm with mean ± std; not reached and failed runs marked', () => {
    const md = formatResultsMarkdown(INFO, RUNS);
    const lines = md.split('\n');
    expect(lines[0]).toBe('# Sweep tiny');
    expect(md).toContain('- arms: a (strategy=iid); b (strategy=sequential-single-class, runLength=2)');
    const header = lines.find((l) => l.startsWith('| arm'))!;
    expect(header.split('|').map((c) => c.trim())).toEqual(['', 'arm', 'runs', 'final acc %', 'worst class %', 'loss swing', 'steps to 80%', 'final loss', '']);
    const cells = (arm: string) => lines.find((l) => l.startsWith(`| ${arm} `))!.split('|').map((c) => c.trim()).slice(1, -1);
    expect(cells('a')).toEqual(['a', '2', '85.0 ± 5.0', '75.0 ± 5.0', '0.100 ± 0.050', '25 ± 5', '0.400 ± 0.100']);
    expect(cells('b')).toEqual(['b', '1/2 ok', '60.0', '20.0', '0.600', 'not reached', '1.200']);
    expect(md).toContain('## Runs that did not complete\n\n- b seed 2: trainer-1 exited with code 1: out of memory, "really"');
  });

  it('marks partly reached targets', () => {
    const runs = [run('a', 1, {}, [0.9]), run('a', 2, {}, [0.5])];
    const md = formatResultsMarkdown({ ...INFO, arms: [INFO.arms[0]!] }, runs);
    expect(md).toMatch(/\| 10 \(1\/2 reached\) \|/);
  });
});

describe('results.csv', () => {
  it('one row per run: scalar summary fields, per-class accuracy, steps to target', () => {
    const csv = formatResultsCsv(RUNS, 0.8).trimEnd().split('\n');
    const header = csv[0]!.split(',');
    expect(header.slice(0, 4)).toEqual(['arm', 'seed', 'status', 'error']);
    expect(header).toContain('finalTestAccuracy');
    expect(header).not.toContain('perClassAccuracy');
    expect(header).not.toContain('trainerBackends');
    expect(header.filter((h) => h === 'seed')).toHaveLength(1);
    expect(header.slice(-5)).toEqual(['acc[cat]', 'acc[dog]', 'target', 'stepsToTarget', 'dir']);
    expect(csv).toHaveLength(5);
    const row = (i: number) => Object.fromEntries(header.map((h, k) => [h, csv[i]!.split(',')[k]]));
    expect(row(1)).toMatchObject({ arm: 'a', seed: '1', status: 'completed', error: '', finalTestAccuracy: '0.8', 'acc[cat]': '0.5', target: '0.8', stepsToTarget: '30' });
    expect(row(3)).toMatchObject({ arm: 'b', stepsToTarget: '' });
    expect(csv[4]).toBe(`b,2,failed,"trainer-1 exited with code 1: out of memory, ""really"""${','.repeat(header.length - 6)}0.8,,/r/b/seed-2`);
  });

  it('adds the settings from config.json that tell the runs apart (lists joined), not those all share nor run ids', () => {
    const withConfig = (r: RunResult, config: Record<string, unknown>): RunResult => ({ ...r, config });
    const runs = [
      withConfig(run('a', 1, {}, [0.8]), { runId: 'x1', startedAt: 't1', runLength: 1, hidden: [128, 64], workers: 4, faults: [] }),
      withConfig(run('b', 1, {}, [0.7]), { runId: 'x2', startedAt: 't2', runLength: 25, hidden: [32], workers: 4, faults: ['flip:4@0:10'] }),
    ];
    const csv = formatResultsCsv(runs, null).trimEnd().split('\n');
    const header = csv[0]!.split(',');
    for (const k of ['runLength', 'hidden', 'faults']) expect(header).toContain(k);
    for (const k of ['runId', 'startedAt', 'workers']) expect(header).not.toContain(k);
    const row = Object.fromEntries(header.map((h, k) => [h, csv[2]!.split(',')[k]]));
    expect(row).toMatchObject({ runLength: '25', hidden: '32', faults: 'flip:4@0:10' });
    expect(csv[1]!.split(',')[header.indexOf('hidden')]).toBe('128 64');
  });
});

describe('reading run directories', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-results-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses metrics.jsonl, skipping a torn last line', () => {
    const text = [
      '{"kind":"event","step":0,"event":"joined","message":"x"}',
      '{"kind":"step","step":0,"loss":1.5,"workerLoss":[1.4,1.6],"gradCosine":0.3,"elapsedSeconds":0.25}',
      '{"kind":"step","step":1,"loss":1.2,"workerLoss":[1.1,1.3],"gradCosine":null}',
      '{"kind":"eval","step":2,"testAccuracy":0.5,"testLoss":1.1,"perClassAccuracy":[0.4,0.6],"weightDivergence":0.25}',
      '{"kind":"step","step":2,"lo',
    ].join('\n');
    const m = parseMetrics(text);
    expect(m.steps).toEqual([
      { step: 0, loss: 1.5, workerLoss: [1.4, 1.6], gradCosine: 0.3, elapsedSeconds: 0.25 },
      // A record without the field (older files) reads as NaN, not as 0.
      { step: 1, loss: 1.2, workerLoss: [1.1, 1.3], gradCosine: null, elapsedSeconds: NaN },
    ]);
    expect(m.evals).toEqual([{ step: 2, testAccuracy: 0.5, testLoss: 1.1, perClassAccuracy: [0.4, 0.6], weightDivergence: 0.25 }]);
  });

  it('checks label-histogram.json', () => {
    expect(checkLabelHistogram({ classNames: ['a', 'b'], perWorker: [[1, 2], [3, 0]] })).toBeNull();
    expect(checkLabelHistogram({ classNames: ['a', 'b'], perWorker: [[1, 2], [3]] })).toMatch(/perWorker\[1\] must hold 2 counts/);
    expect(checkLabelHistogram([])).toMatch(/classNames/);
  });

  it('reads fixture runs; a run without files is failed, not an exception', () => {
    const { info, refs } = writeFixtureSweep(join(dir, 'sweep'), { failedRun: true });
    writeFileSync(join(refs[0]!.dir, 'label-histogram.json'), '{"classNames": ["a"], "perWorker": [[1, 2]]}');
    const runs = [...refs.map(readRun), readRun({ arm: 'ghost', seed: 1, dir: join(dir, 'nothing'), error: 'DataError: no data' })];
    expect(runs[0]).toMatchObject({ arm: 'iid', seed: 1, status: 'completed', histogram: null, classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress'] });
    expect(runs[0]!.steps).toHaveLength(120);
    expect(runs[0]!.evals).toHaveLength(12);
    expect(runs[1]!.histogram!.perWorker).toHaveLength(4);
    expect(runs.find((r) => r.arm === 'seq-cyclic' && r.seed === 2)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^step 70: no gradient/) });
    expect(runs.at(-1)).toMatchObject({ status: 'failed', error: 'DataError: no data', summary: null });
    expect(readRun({ arm: 'x', seed: 1, dir: join(dir, 'nothing') }).error).toBe(`unfinished: no summary.json in ${join(dir, 'nothing')} (still running, or killed)`);

    const paths = writeResults(join(dir, 'sweep'), info, runs);
    expect(readFileSync(paths.csv, 'utf8').split('\n')).toHaveLength(runs.length + 2);
    expect(readFileSync(paths.markdown, 'utf8')).toMatch(/^\| seq-cyclic +\| +1\/2 ok \|/m);
  });
});

describe('run files on a disk that refuses them', () => {
  it.runIf(existsSync('/dev/full'))('JsonlWriter and writeJsonFile throw a DiskError naming the file and the cause', () => {
    const w = new JsonlWriter('/dev/full');
    expect(() => w.write({ kind: 'step' })).toThrow(new DiskError('cannot write /dev/full: ENOSPC (no space left on the device)'));
    expect(() => writeJsonFile('/proc/version/x.json', {})).toThrow(DiskError);
    expect(() => writingTo('x', () => JSON.parse('{'))).toThrow(SyntaxError); // not a file system error: as it is
  });
});
