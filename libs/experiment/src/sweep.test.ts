import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STRATEGY_NAMES } from '@shardlab/data';
import { ConfigError } from '@shardlab/options';
import { EXPERIMENT_OPTIONS } from './config';
import { isRunComplete, loadSweepFile, parseSweep, recordedConfigDiff } from './sweep';

const GOOD = `
name: seed-question
description: >
  Does it matter that every batch holds one label?
base: { dataset: synthetic, workers: 4, batchSize: 128, steps: 300, evalEvery: 25 }
seeds: [1, 2, 3]
target: 0.8
reference: iid
arms:
  - { name: seq-cyclic-r1-sgd, strategy: sequential-single-class, order: cyclic, runLength: 1 }
  - { name: iid, strategy: iid }
  - name: lpn-small
    strategy: label-per-node
    batchSize: 32
`;

const noFashion = { fashionMnistAvailable: () => false };

/** The ConfigError message parseSweep throws for `text` (fails the test if it does not throw one). */
function errorOf(text: string, file = 'experiments/x.yaml'): string {
  try {
    parseSweep(text, file, noFashion);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

const minimal = (extra: string) => `name: t\nseeds: [1]\narms:\n  - { name: a, strategy: iid }\n${extra}`;

describe('sweep files', () => {
  it('plans every arm x seed, reference arm first within a seed', () => {
    const plan = parseSweep(GOOD, 'experiments/seed-question.yaml', { ...noFashion, out: '/tmp/sq' });
    expect(plan.name).toBe('seed-question');
    expect(plan.description).toBe('Does it matter that every batch holds one label?');
    expect(plan.target).toBe(0.8);
    expect(plan.reference).toBe('iid');
    expect(plan.arms.map((a) => a.name)).toEqual(['seq-cyclic-r1-sgd', 'iid', 'lpn-small']);
    expect(plan.runs).toHaveLength(9);
    expect(plan.runs.slice(0, 3).map((r) => [r.arm, r.seed])).toEqual([
      ['iid', 1],
      ['seq-cyclic-r1-sgd', 1],
      ['lpn-small', 1],
    ]);
    const seq2 = plan.runs.find((r) => r.arm === 'seq-cyclic-r1-sgd' && r.seed === 2)!;
    expect(seq2.dir).toBe(join('/tmp/sq', 'seq-cyclic-r1-sgd', 'seed-2'));
    expect(seq2.referenceDir).toBe(join('/tmp/sq', 'iid', 'seed-2'));
    expect(seq2.config).toMatchObject({ strategy: 'sequential-single-class', order: 'cyclic', runLength: 1, workers: 4, batchSize: 128, steps: 300, seed: 2 });
    expect(plan.runs.find((r) => r.arm === 'iid')!.referenceDir).toBeNull();
    expect(plan.runs.find((r) => r.arm === 'lpn-small')!.config.batchSize).toBe(32);
    expect(plan.dataset.description).toBe('synthetic 4-class data');
  });

  it('defaults the output directory to runs/sweep-<name>', () => {
    expect(parseSweep(minimal(''), 'x.yaml', noFashion).dir).toBe(join('runs', 'sweep-t'));
  });

  it('reads JSON too', () => {
    const plan = parseSweep(JSON.stringify({ name: 'j', seeds: [5], arms: [{ name: 'a', strategy: 'iid', steps: 7 }] }), 'x.json', noFashion);
    expect(plan.runs).toEqual([expect.objectContaining({ arm: 'a', seed: 5, referenceDir: null })]);
    expect(plan.runs[0]!.config.steps).toBe(7);
  });

  it('resolves dataset: auto and records which', () => {
    const text = minimal('base: { dataset: auto }');
    const withFashion = parseSweep(text, 'x.yaml', { fashionMnistAvailable: () => true });
    expect(withFashion.runs[0]!.config).toMatchObject({ dataset: 'fashion-mnist', classes: [0, 1, 2, 3] });
    expect(withFashion.dataset).toEqual({ requested: 'auto', description: 'fashion-mnist classes 0,1,2,3 (dataset: auto; Fashion-MNIST is installed)' });
    const without = parseSweep(text, 'x.yaml', noFashion);
    expect(without.runs[0]!.config).toMatchObject({ dataset: 'synthetic', classes: null });
    expect(without.dataset.description).toMatch(/^synthetic 4-class data \(dataset: auto; Fashion-MNIST is not installed/);
  });

  it('accepts every experiment setting of EXPERIMENT_OPTIONS (but seed) in base and arms', () => {
    for (const o of EXPERIMENT_OPTIONS) {
      if (o.key === 'seed' || o.default === undefined) continue;
      const value = JSON.stringify(o.default);
      expect(() => parseSweep(`name: t\nseeds: [1]\nbase: { ${o.key}: ${value} }\narms: [{ name: a, ${o.key}: ${value} }]`, 'x.yaml', noFashion), o.key).not.toThrow();
    }
  });

  it('names the file and the key path of every kind of mistake', () => {
    const f = 'experiments/x.yaml:';
    expect(errorOf(minimal('nmae: x'))).toBe(`${f} nmae: unknown key (did you mean "name"?); allowed: name, description, base, seeds, target, reference, arms`);
    expect(errorOf('seeds: [1]\narms: [{ name: a }]')).toMatch(new RegExp(`^${f} name: missing`));
    expect(errorOf('name: t\nseeds: [1]')).toMatch(new RegExp(`^${f} arms: missing`));
    expect(errorOf('name: t\narms: [{ name: a }]')).toMatch(new RegExp(`^${f} seeds: missing`));
    expect(errorOf('name: t\nseeds: []\narms: [{ name: a }]')).toMatch(new RegExp(`^${f} seeds: must be a non-empty list`));
    expect(errorOf('name: t\nseeds: [1, 2.5]\narms: [{ name: a }]')).toBe(`${f} seeds[1]: must be an integer from 0 to 2147483647, got 2.5`);
    expect(errorOf('name: t\nseeds: [1, 1]\narms: [{ name: a }]')).toMatch(new RegExp(`^${f} seeds\\[1\\]: duplicate seed 1`));
    expect(errorOf('name: "a b"\nseeds: [1]\narms: [{ name: a }]')).toMatch(new RegExp(`^${f} name: must be letters, digits`));
    expect(errorOf('name: t\nseeds: [1]\narms: [{ name: a }, { name: b }, { name: a }]')).toBe(
      `${f} arms[2].name: duplicate arm name "a" (also arms[0].name); arm names must be unique`,
    );
    expect(errorOf('name: t\nseeds: [1]\narms: [{ strategy: iid }]')).toMatch(new RegExp(`^${f} arms\\[0\\]\\.name: missing`));
    expect(errorOf('name: t\nseeds: [1]\narms: [{ name: a }, { name: b }, { name: c, strategy: foo }]')).toBe(
      `${f} arms[2].strategy: unknown value "foo"; allowed: ${STRATEGY_NAMES.join(', ')}`,
    );
    expect(errorOf('name: t\nseeds: [1]\narms: [{ name: a, stratgy: iid }]')).toMatch(
      new RegExp(`^${f} arms\\[0\\]\\.stratgy: unknown setting \\(did you mean "strategy"\\?\\); allowed: name, dataset, `),
    );
    expect(errorOf('name: t\nseeds: [1]\nbase: { workers: 0 }\narms: [{ name: a }]')).toBe(`${f} base.workers: must be an integer from 1 to 64, got 0`);
    expect(errorOf('name: t\nseeds: [1]\nbase: { seed: 3 }\narms: [{ name: a }]')).toMatch(new RegExp(`^${f} base\\.seed: not allowed here; seeds come from`));
    expect(errorOf('name: t\nseeds: [1]\narms: [{ name: a, dataset: mnist }]')).toMatch(new RegExp(`^${f} arms\\[0\\]\\.dataset: unknown dataset "mnist"`));
    expect(errorOf('name: t\nseeds: [1]\nbase: { dataset: fashion-mnist }\narms: [{ name: a, classes: [1, 1] }]')).toMatch(
      new RegExp(`^${f} arms\\[0\\]\\.classes: duplicate class`),
    );
    expect(errorOf(minimal('reference: iid'))).toBe(`${f} reference: unknown arm "iid"; allowed: a`);
    expect(errorOf(minimal('target: 80'))).toMatch(new RegExp(`^${f} target: must be an accuracy between 0 and 1`));
    expect(errorOf('- 1\n- 2')).toMatch(new RegExp(`^experiments/x.yaml: expected a mapping`));
  });

  it('reports YAML syntax errors with their line', () => {
    expect(errorOf('name: t\nseeds: [1\narms: []\n')).toMatch(/^experiments\/x\.yaml:3:1: YAML syntax error: /);
    expect(errorOf('name: t\nname: u\n')).toMatch(/^experiments\/x\.yaml:2:1: YAML syntax error: Map keys must be unique/);
  });

  it('names a missing file', () => {
    expect(() => loadSweepFile('/nonexistent/sweep.yaml')).toThrow(/^\/nonexistent\/sweep\.yaml: cannot read sweep file \(no such file\)$/);
  });

  it('every shipped experiment file is a valid sweep (settings, faults and policies checked)', () => {
    const dir = join(__dirname, '../../../experiments');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['seed-question-10m.yaml', 'seed-question-faults.yaml', 'niid-bench-fmnist-small.yaml']));
    for (const f of files) {
      const plan = loadSweepFile(join(dir, f), { fashionMnistAvailable: () => true });
      expect(plan.arms.length, f).toBeGreaterThan(0);
    }
    const faults = loadSweepFile(join(dir, 'seed-question-faults.yaml'), noFashion);
    expect(faults.runs.find((r) => r.arm === 'label-per-node-lost')!.config).toMatchObject({ faults: ['kill:2@100'], lostWorker: 'continue', strategy: 'label-per-node' });
  });

  it('experiments/smoke.yaml is a valid sweep', () => {
    const plan = loadSweepFile(join(__dirname, '../../../experiments/smoke.yaml'), noFashion);
    expect(plan.name).toBe('smoke');
    expect(plan.arms).toHaveLength(2);
    expect(plan.seeds).toEqual([1]);
  });
});

describe('resuming', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-sweep-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a run is complete when summary.json says completed', () => {
    const write = (name: string, files: Record<string, string>) => {
      mkdirSync(join(dir, name), { recursive: true });
      for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, name, file), text);
      return join(dir, name);
    };
    expect(isRunComplete(join(dir, 'absent'))).toBe(false);
    expect(isRunComplete(write('no-summary', { 'metrics.jsonl': '' }))).toBe(false);
    expect(isRunComplete(write('failed', { 'summary.json': '{"status":"failed"}' }))).toBe(false);
    expect(isRunComplete(write('torn', { 'summary.json': '{"status":"compl' }))).toBe(false);
    expect(isRunComplete(write('done', { 'summary.json': '{"status":"completed"}' }))).toBe(true);
  });

  it('tells which settings a recorded run differs in', () => {
    const plan = parseSweep(minimal(''), 'x.yaml', noFashion);
    const config = plan.runs[0]!.config;
    const runDir = join(dir, 'recorded');
    mkdirSync(runDir, { recursive: true });
    const spec = { kind: 'mlp', inputSize: 784, hidden: [128, 64], classes: 4 };
    // A run records the collective it resolved --collective auto to (4 workers: halving-doubling).
    const recorded = { ...config, collective: 'halving-doubling' };
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ ...recorded, backend: 'wasm', requestedBackend: config.backend, runId: 'x', model: spec }));
    expect(recordedConfigDiff(runDir, config)).toEqual([]);
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ ...recorded, steps: 40, requestedBackend: config.backend }));
    expect(recordedConfigDiff(runDir, config)).toEqual([`steps: 40 -> ${config.steps}`]);
  });

  it('compares --collective auto as it resolves, and a setting newer than the run as its default', () => {
    const plan = parseSweep(minimal(''), 'x.yaml', noFashion);
    const config = plan.runs[0]!.config;
    expect(config.collective).toBe('auto');
    const runDir = join(dir, 'resolved');
    mkdirSync(runDir, { recursive: true });
    // What a 4-worker run records: the collective auto chose; and no runtime (a run made before the setting).
    const { runtime, ...before } = { ...config, collective: 'halving-doubling', requestedBackend: config.backend };
    expect(runtime).toBe('processes');
    writeFileSync(join(runDir, 'config.json'), JSON.stringify(before));
    expect(recordedConfigDiff(runDir, config)).toEqual([]);
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ ...before, collective: 'relay' }));
    expect(recordedConfigDiff(runDir, config)).toEqual(['collective: "relay" -> "halving-doubling"']);
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ ...before, runtime: 'threads' }));
    expect(recordedConfigDiff(runDir, config)).toEqual(['runtime: "threads" -> "processes"']);
  });
});
