import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff } from '@shardlab/aggregation';
import { fileLoadHandler, initBackend, initParams, loadLayersSource, saveLayersModel, type ModelSpec } from '@shardlab/model';
import { runCli, tempDir } from './testing/cli';

/*
 * --model layers:<dir>: a TensorFlow.js Layers model trained across real trainer processes by autodiff, its
 * parameters in the one vector every collective averages.
 */
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ROOT = resolve(__dirname, '../../..');

interface Event {
  kind: string;
  event?: string;
  message?: string;
}
const checksumEvents = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Event)
    .filter((r) => r.kind === 'event' && r.event === 'checksum');

describe('a loaded TensorFlow.js Layers model across workers', () => {
  // The built-in MLP's architecture and initial weights, saved as a Layers model: the seed question's algebra must hold for it too.
  const spec: ModelSpec = { kind: 'mlp', inputSize: 784, hidden: [128, 64], classes: 4, initSeed: 7 };
  const mlpDir = join(dir, 'mlp-model');
  beforeAll(async () => {
    await initBackend('cpu');
    await saveLayersModel(spec, initParams(spec), mlpDir);
  });

  /*
   * Tolerance 1e-5, as in equivalence.test.ts: the runs differ only in the order float32 sums are taken; a different
   * batch composition moves the weights by > 1e-3 within a few steps. --checksum-every 1: every replica (and under
   * relay the coordinator's) is bit-identical at every step, or the run stops.
   */
  it('label-per-node 4 x 32 equals stratified 1 x 128 to 1e-5 after 50 steps, under relay and ring; the model saved back loads in TensorFlow.js', async () => {
    const common = ['--model', `layers:${mlpDir}`, '--dataset', 'synthetic', '--samples', '6000', '--test-samples', '400', '--steps', '50', '--optimizer', 'sgd', '--lr', '0.05', '--seed', '7', '--eval-every', '25', '--quiet'];
    const single = await runCli(['run', ...common, '--strategy', 'stratified', '--workers', '1', '--batch-size', '128', '--out', join(dir, 'single')], 240_000);
    expect(single.code, single.stderr).toBe(0);
    const reference = (await loadLayersSource(join(dir, 'single', 'model'))).initialParams;
    expect(maxAbsDiff(reference, initParams(spec))).toBeGreaterThan(1e-3); // it trained
    for (const collective of ['relay', 'ring']) {
      const out = join(dir, `lpn-${collective}`);
      const run = await runCli(['run', ...common, '--strategy', 'label-per-node', '--workers', '4', '--batch-size', '32', '--collective', collective, '--checksum-every', '1', '--out', out], 240_000);
      expect(run.code, run.stderr).toBe(0);
      const checks = checksumEvents(out);
      expect(checks).toHaveLength(50);
      for (const c of checks) expect(c.message).toMatch(/^all 4 replicas at /);
      const trained = (await loadLayersSource(join(out, 'model'))).initialParams;
      expect(maxAbsDiff(trained, reference), collective).toBeLessThanOrEqual(1e-5);
    }
    // What came back is a TensorFlow.js Layers model like the one that went in.
    const back = await tf.loadLayersModel(fileLoadHandler(join(dir, 'lpn-ring', 'model')));
    expect(back.outputs[0]!.shape).toEqual([null, 4]);
    back.dispose();
  }, 900_000);

  describe('a CNN with BatchNorm (the example model, 8 x 8 images)', () => {
    const cnnDir = join(dir, 'cnn-bn');
    beforeAll(() => {
      const r = spawnSync(process.execPath, [join(ROOT, 'tools/write-example-model.mjs'), cnnDir, '--side', '8', '--classes', '4'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    });
    const common = ['--model', `layers:${cnnDir}`, '--dataset', 'synthetic', '--features', '64', '--samples', '2000', '--test-samples', '200', '--steps', '12', '--lr', '0.05', '--strategy', 'label-per-node', '--workers', '4', '--batch-size', '16', '--eval-every', '6', '--checksum-every', '1', '--quiet'];

    // Under broadcast and average every worker's running statistics are part of the checksum compared every step.
    for (const [collective, buffers] of [['relay', 'broadcast'], ['relay', 'average'], ['ring', 'broadcast'], ['ring', 'average']] as const) {
      it(`trains under ${collective} with --buffers ${buffers}: every replica's parameters and buffers identical at every step`, async () => {
        const out = join(dir, `cnn-${collective}-${buffers}`);
        const run = await runCli(['run', ...common, '--collective', collective, '--buffers', buffers, '--out', out], 240_000);
        expect(run.code, run.stderr).toBe(0);
        const checks = checksumEvents(out);
        expect(checks).toHaveLength(12);
        for (const c of checks) expect(c.message).toMatch(/^all 4 replicas at /);
        const saved = await loadLayersSource(join(out, 'model'));
        const initial = await loadLayersSource(cnnDir);
        // The running statistics moved from the file's (means 0, variances 1) and were saved with the model.
        expect(maxAbsDiff(saved.initialBuffers, initial.initialBuffers)).toBeGreaterThan(1e-3);
        expect(saved.params).toEqual(initial.params);
      }, 300_000);
    }

    it('under --buffers average the saved statistics differ from broadcast\'s (worker 0\'s own); local trains and evaluates like broadcast', async () => {
      const local = join(dir, 'cnn-relay-local');
      const run = await runCli(['run', ...common, '--collective', 'relay', '--buffers', 'local', '--out', local], 240_000);
      expect(run.code, run.stderr).toBe(0);
      const buffersOf = async (name: string) => (await loadLayersSource(join(dir, name, 'model'))).initialBuffers;
      const [broadcast, average, own] = await Promise.all(['cnn-relay-broadcast', 'cnn-relay-average', 'cnn-relay-local'].map(buffersOf));
      expect(maxAbsDiff(broadcast!, average!)).toBeGreaterThan(1e-4);
      // Worker 0's statistics evolve from its own batches alone under broadcast as under local.
      expect(Array.from(own!)).toEqual(Array.from(broadcast!));
      const accuracy = (name: string) => JSON.parse(readFileSync(join(dir, name, 'summary.json'), 'utf8')).finalTestAccuracy as number;
      expect(accuracy('cnn-relay-local')).toBe(accuracy('cnn-relay-broadcast'));
    }, 300_000);
  });

  it('refuses a model that does not fit the data, or that cannot be read, before the run directory holds anything', async () => {
    const out = join(dir, 'refused');
    const wrongFeatures = await runCli(['run', '--model', `layers:${mlpDir}`, '--features', '64', '--steps', '1', '--out', out]);
    expect(wrongFeatures.code).toBe(2);
    expect(wrongFeatures.stderr).toMatch(/--model layers:.* reads 784 features per sample \(input shape \[784\]\), but .* has 64/);
    const wrongClasses = await runCli(['run', '--model', `layers:${mlpDir}`, '--num-classes', '3', '--steps', '1', '--out', out]);
    expect(wrongClasses.code).toBe(2);
    expect(wrongClasses.stderr).toMatch(/has 4 outputs, but .* has 3 classes/);
    const keras3 = join(dir, 'keras3');
    rmSync(keras3, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', keras3]);
    writeFileSync(join(keras3, 'model.keras'), 'PK');
    const k = await runCli(['run', '--model', `layers:${keras3}`, '--steps', '1', '--out', out]);
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/Keras 3 \.keras file.*tensorflowjs_converter --input_format keras/);
    expect(k.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(() => readFileSync(join(out, 'config.json'))).toThrow();
  }, 120_000);
});
