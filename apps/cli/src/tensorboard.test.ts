import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readScalarEvents, type EvalRecord, type MetricsRecord, type StepRecord } from '@shardlab/report';
import { runCli, tempDir } from './testing/cli';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a run writes TensorBoard event files as it goes', () => {
  it('every record checks, and the scalars are the values of metrics.jsonl', async () => {
    const out = join(dir, 'run');
    const r = await runCli(['run', '--workers', '2', '--steps', '12', '--eval-every', '5', '--samples', '2000', '--test-samples', '200', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(out).filter((f) => f.startsWith('events.out.tfevents.'));
    expect(files).toHaveLength(1);
    const events = readScalarEvents(readFileSync(join(out, files[0]!)));
    const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsRecord);
    const steps = records.filter((x): x is StepRecord => x.kind === 'step');
    const evals = records.filter((x): x is EvalRecord => x.kind === 'eval');
    expect(steps).toHaveLength(12);
    expect(evals.map((e) => e.step)).toEqual([5, 10, 12]);
    const losses = events.filter((e) => 'train/loss' in e.values);
    expect(losses.map((e) => e.step)).toEqual(steps.map((s) => s.step));
    // simple_value is a float32: the JSON value rounded to float32.
    losses.forEach((e, i) => {
      expect(e.values['train/loss']).toBe(Math.fround(steps[i]!.loss));
      expect(e.values['train/loss_worker_1']).toBe(Math.fround(steps[i]!.workerLoss[1]!));
      expect(e.values['gradients/norm_worker_0']).toBe(Math.fround(steps[i]!.gradNorm[0]!));
    });
    const accuracies = events.filter((e) => 'test/accuracy' in e.values);
    expect(accuracies.map((e) => [e.step, e.values['test/accuracy']])).toEqual(evals.map((e) => [e.step, Math.fround(e.testAccuracy)]));
    const classTags = events.filter((e) => Object.keys(e.values).some((k) => k.startsWith('class_accuracy/')));
    expect(Object.keys(classTags[0]!.values).filter((k) => k.startsWith('class_accuracy/'))).toHaveLength(4);
    expect(events.at(-1)!.values['final/test_accuracy']).toBe(Math.fround(evals.at(-1)!.testAccuracy));
  }, 120_000);
});
