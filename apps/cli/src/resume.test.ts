import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricsRecord, StepRecord } from '@shardlab/report';
import { BUILT_CLI, runCli, tempDir } from './testing/cli';

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
function runAndKill(out: string, atStep: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILT_CLI, 'run', ...SETTINGS, '--out', out], { stdio: 'ignore' });
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
  it('a run killed with SIGKILL at a random step and resumed ends with bit-identical weights; metrics.jsonl has no gap or duplicate', async () => {
    const straight = join(dir, 'straight');
    const r = await runCli(['run', ...SETTINGS, '--out', straight]);
    expect(r.code, r.stderr).toBe(0);

    const killed = join(dir, 'killed');
    const atStep = 9 + Math.floor(Math.random() * 20); // somewhere between two checkpoints, 9..28
    const reached = await runAndKill(killed, atStep);
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
