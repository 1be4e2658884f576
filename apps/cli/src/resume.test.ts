import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricsRecord, StepRecord } from '@shardlab/report';
import { BUILT_CLI, runCli, startCli, tempDir } from './testing/cli';

/*
 * Checkpoint and resume: a run whose process is killed with SIGKILL at a random step, then continued with
 * `shardlab run --resume DIR`, ends with the same weights, byte for byte, as the same run uninterrupted,
 * and its metrics.jsonl has every step exactly once.
 */
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SETTINGS = ['--steps', '36', '--optimizer', 'momentum', '--lr', '0.01', '--norm', 'batch', '--checkpoint-every', '8', '--eval-every', '9', '--samples', '4000', '--test-samples', '200', '--quiet'];
const stepRecords = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsRecord).filter((r): r is StepRecord => r.kind === 'step');

/** Starts a run and SIGKILLs it once metrics.jsonl holds `atStep` step records. */
function runAndKill(out: string, atStep: number, settings: readonly string[] = SETTINGS): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILT_CLI, 'run', ...settings, '--out', out], { stdio: 'ignore' });
    const timer = setInterval(() => {
      // Whole lines only: the run may be writing the last one right now.
      const text = existsSync(join(out, 'metrics.jsonl')) ? readFileSync(join(out, 'metrics.jsonl'), 'utf8') : '';
      const n = text.split('\n').slice(0, -1).filter((l) => l.includes('"kind":"step"')).length;
      if (n >= atStep) {
        child.kill('SIGKILL');
        clearInterval(timer);
        resolve(n);
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error('the run ended before it could be killed'));
    });
  });
}

describe('checkpoint and resume', () => {
  // Under relay the coordinator keeps the state; among trainers worker 0 sends its parameters and optimizer state
  // with the step before each checkpoint.
  for (const collective of ['relay', 'ring', 'halving-doubling']) it(`a run killed with SIGKILL at a random step and resumed ends with bit-identical weights; metrics.jsonl has no gap or duplicate (${collective})`, async () => {
    const SETTINGS_ = [...SETTINGS, '--collective', collective];
    const straight = join(dir, `straight-${collective}`);
    const r = await runCli(['run', ...SETTINGS_, '--out', straight]);
    expect(r.code, r.stderr).toBe(0);

    const killed = join(dir, `killed-${collective}`);
    const atStep = 9 + Math.floor(Math.random() * 20); // somewhere between two checkpoints, 9..28
    const reached = await runAndKill(killed, atStep, SETTINGS_);
    expect(reached).toBeGreaterThanOrEqual(atStep);
    expect(existsSync(join(killed, 'summary.json'))).toBe(false);
    await new Promise((res) => setTimeout(res, 1500)); // its trainers notice the coordinator is gone and exit

    const resumed = await runCli(['run', '--resume', killed]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const a = readFileSync(join(straight, 'model', 'weights.bin'));
    const b = readFileSync(join(killed, 'model', 'weights.bin'));
    expect(b.equals(a), `weights differ after a kill at step ${reached}`).toBe(true);
    expect(stepRecords(killed).map((s) => s.step)).toEqual(Array.from({ length: 36 }, (_, t) => t));
    const [sa, sb] = [straight, killed].map((d) => JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8')));
    expect(sb).toMatchObject({ status: 'completed', stepsCompleted: 36, finalLoss: sa.finalLoss, lossSwing: sa.lossSwing, finalTestAccuracy: sa.finalTestAccuracy });
  }, 180_000);

  // A loaded TensorFlow.js Layers model (the example CNN with BatchNorm, on 8 x 8 inputs): parameters, optimizer state
  // and worker 0's running statistics come back from the checkpoint as for the built-in models.
  for (const collective of ['relay', 'ring']) it(`a loaded Layers model with BatchNorm, killed and resumed, ends with bit-identical weights (${collective})`, async () => {
    const model = join(dir, 'example-model');
    if (!existsSync(join(model, 'model.json'))) {
      const w = spawnSync(process.execPath, [join(__dirname, '../../../tools/write-example-model.mjs'), model, '--side', '8'], { encoding: 'utf8' });
      expect(w.status, w.stderr).toBe(0);
    }
    const settings = [...SETTINGS.filter((_, i, a) => a[i] !== '--norm' && a[i - 1] !== '--norm'), '--model', `layers:${model}`, '--features', '64', '--batch-size', '32', '--collective', collective];
    const straight = join(dir, `layers-straight-${collective}`);
    const r = await runCli(['run', ...settings, '--out', straight]);
    expect(r.code, r.stderr).toBe(0);
    const killed = join(dir, `layers-killed-${collective}`);
    const reached = await runAndKill(killed, 9 + Math.floor(Math.random() * 20), settings);
    await new Promise((res) => setTimeout(res, 1500));
    const resumed = await runCli(['run', '--resume', killed]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const a = readFileSync(join(straight, 'model', 'weights.bin'));
    expect(readFileSync(join(killed, 'model', 'weights.bin')).equals(a), `weights differ after a kill at step ${reached}`).toBe(true);
    expect(stepRecords(killed).map((s) => s.step)).toEqual(Array.from({ length: 36 }, (_, t) => t));
  }, 180_000);

  for (const collective of ['relay', 'auto']) it(`Ctrl-C (SIGINT to the process group, as a terminal sends it) stops at a step boundary, writes a checkpoint, prints the resume command; resumed, the run ends bit-identical (--collective ${collective})`, async () => {
    const settings = ['--steps', '40', '--optimizer', 'momentum', '--lr', '0.01', '--collective', collective, '--eval-every', '10', '--samples', '4000', '--test-samples', '200', '--quiet'];
    const straight = join(dir, `straight-sigint-${collective}`);
    const r = await runCli(['run', ...settings, '--out', straight]);
    expect(r.code, r.stderr).toBe(0);

    const stopped = join(dir, `interrupted-${collective}`);
    const child = spawn(process.execPath, [BUILT_CLI, 'run', ...settings, '--out', stopped], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const atStep = 5 + Math.floor(Math.random() * 20);
    await new Promise<void>((res, rej) => {
      const timer = setInterval(() => {
        const text = existsSync(join(stopped, 'metrics.jsonl')) ? readFileSync(join(stopped, 'metrics.jsonl'), 'utf8') : '';
        if (text.split('\n').filter((l) => l.includes('"kind":"step"')).length >= atStep) {
          clearInterval(timer);
          process.kill(-child.pid!, 'SIGINT');
          res();
        }
      }, 10);
      child.on('exit', () => {
        clearInterval(timer);
        rej(new Error(`the run ended before the signal: ${stderr}`));
      });
    });
    expect(await exited).toBe(1);
    const [, at] = /stopped by SIGINT after step (\d+); checkpoint\.bin holds it/.exec(stderr) ?? [];
    expect(at, stderr).toBeDefined();
    expect(stderr).toContain(`continue it from step ${at}: shardlab run --resume ${stopped}`);
    const summary = JSON.parse(readFileSync(join(stopped, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'failed', stepsCompleted: Number(at), checkpointStep: Number(at) });
    expect(existsSync(join(stopped, 'config.json'))).toBe(true);

    const resumed = await runCli(['run', '--resume', stopped]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(join(stopped, 'model', 'weights.bin')).equals(readFileSync(join(straight, 'model', 'weights.bin')))).toBe(true);
    expect(stepRecords(stopped).map((s) => s.step)).toEqual(Array.from({ length: 40 }, (_, t) => t));
  }, 180_000);

  it('a run that cannot start leaves config.json and a summary.json that says why; a model the data cannot feed leaves nothing', async () => {
    const cnn = join(dir, 'cnn-32');
    const bad = await runCli(['run', '--model', 'cnn', '--features', '32', '--out', cnn]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--model cnn reads square images, but --features 32 is not a square number; use --model mlp/);
    expect(existsSync(cnn)).toBe(false);

    const server = createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as AddressInfo).port;
    const busy = join(dir, 'busy');
    const r = await runCli(['run', '--port', String(port), '--steps', '2', '--out', busy]);
    server.close();
    expect(r.code).toBe(2);
    expect(JSON.parse(readFileSync(join(busy, 'config.json'), 'utf8'))).toMatchObject({ steps: 2 });
    const summary = JSON.parse(readFileSync(join(busy, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'failed', stepsCompleted: 0, checkpointStep: null });
    expect(summary.error).toMatch(/port in use|in use/);
  }, 120_000);

  it('a second writer of a run directory is refused, naming the process that writes it; a lock left by a killed run is taken over', async () => {
    const busy = join(dir, 'busy-writer');
    const child = spawn(process.execPath, [BUILT_CLI, 'run', ...SETTINGS.map((a) => (a === '36' ? '4000' : a)), '--out', busy], { stdio: 'ignore' });
    try {
      await new Promise<void>((res, rej) => {
        const timer = setInterval(() => {
          if (existsSync(join(busy, 'checkpoint.bin'))) {
            clearInterval(timer);
            res();
          }
        }, 20);
        child.on('exit', () => rej(new Error('the first run ended early')));
      });
      const second = await runCli(['run', '--resume', busy]);
      expect(second.code).toBe(2);
      expect(second.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^shardlab run: .*busy-writer is being written by process ${child.pid} \\(.*run .*\\) since \\d{4}-.*; wait for it to end, or stop it first$`));
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((res) => child.once('exit', res));
    await new Promise((res) => setTimeout(res, 1500)); // its trainers notice and exit
    // Killed with its lock in place: the lock is stale, and --resume goes on.
    expect(existsSync(join(busy, '.shardlab.lock'))).toBe(true);
    const resumed = await startCli(['run', '--resume', busy], /resuming from .*checkpoint\.bin at step \d+/);
    resumed.child.kill('SIGKILL');
    await resumed.exited;
    await new Promise((res) => setTimeout(res, 1500));
  }, 180_000);

  it('--resume refuses a directory without a checkpoint, and settings given beside it', async () => {
    const plain = join(dir, 'plain');
    expect((await runCli(['run', '--steps', '2', '--samples', '2000', '--test-samples', '100', '--quiet', '--out', plain])).code).toBe(0);
    const none = await runCli(['run', '--resume', plain]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/--resume .*plain: no checkpoint.bin there \(the run needs --checkpoint-every N/);
    const mixed = await runCli(['run', '--resume', plain, '--steps', '5']);
    expect(mixed.stderr).toMatch(/--resume .*: the run continues with its own settings and directory; leave out --steps/);
  }, 120_000);
});
