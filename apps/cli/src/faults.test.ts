import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventRecord, MetricsRecord, StepRecord } from '@shardlab/report';
import { runCli, tempDir } from './testing/cli';

/* Fault injection end to end: real trainer processes that die, freeze or lag on cue, under both lost-worker policies. */
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SMALL = ['--samples', '4000', '--test-samples', '200', '--quiet'];
function records(out: string): MetricsRecord[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsRecord);
}
const summaryOf = (out: string) => JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));

describe('fault injection', () => {
  it('kill under --lost-worker continue: the run finishes with the survivors, from the step the worker died', async () => {
    const out = join(dir, 'kill-continue');
    const r = await runCli(['run', '--strategy', 'label-per-node', '--steps', '30', '--eval-every', '30', '--faults', 'kill:2@15', '--lost-worker', 'continue', '--out', out, ...SMALL]);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(out)).toMatchObject({ status: 'completed', stepsCompleted: 30, lostWorkers: [2] });
    const all = records(out);
    const lost = all.filter((x): x is EventRecord => x.kind === 'event' && x.event === 'lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ worker: 2, step: 15 });
    expect(lost[0]!.message).toMatch(/exited with SIGKILL.*fault injection: worker 2 dies at step 15/);
    const samples = all.filter((x): x is StepRecord => x.kind === 'step').map((x) => x.samples);
    // Steps before 15: 4 x 128. Step 15 itself may complete before or after the death is noticed; after it, 3 x 128.
    expect(samples.slice(0, 15).every((n) => n === 512)).toBe(true);
    expect(samples.slice(16).every((n) => n === 384)).toBe(true);
  }, 120_000);

  it('kill under --lost-worker stop (the default): the run stops naming the worker', async () => {
    const out = join(dir, 'kill-stop');
    // Relay, so that the only report of the death is the runner's own notice of the exit. (Under the ring a
    // neighbour may say it first, naming the worker by its peer address: ring.test.ts checks that path.)
    const r = await runCli(['run', '--steps', '30', '--faults', 'kill:1@5', '--collective', 'relay', '--out', out, ...SMALL]);
    expect(r.code).toBe(1);
    const summary = summaryOf(out);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/trainer-\d exited with SIGKILL: \[trainer-\d\] fault injection: worker 1 dies at step 5/);
  }, 120_000);

  it('pause longer than --step-timeout: declared lost under continue, the run goes on; slow: every step of that worker lags', async () => {
    const out = join(dir, 'pause');
    const r = await runCli(['run', '--steps', '20', '--eval-every', '20', '--faults', 'pause:1@5:4,slow:0@0:60', '--lost-worker', 'continue', '--step-timeout', '1.5', '--out', out, ...SMALL]);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(out)).toMatchObject({ status: 'completed', stepsCompleted: 20, lostWorkers: [1] });
    const lost = records(out).find((x): x is EventRecord => x.kind === 'event' && x.event === 'lost');
    expect(lost).toMatchObject({ worker: 1, step: 5 });
    expect(lost!.message).toMatch(/no gradient within 1.5 s/);
    const stepMs = records(out).filter((x): x is StepRecord => x.kind === 'step').map((x) => x.stepMs);
    expect(Math.min(...stepMs)).toBeGreaterThanOrEqual(60);
  }, 120_000);

  it('replace: a killed and a frozen worker are replaced by fresh trainers that get the current state; the weights equal the clean run\'s, bit for bit', async () => {
    // Both runs average through the coordinator (replace needs its replica; --collective auto would give the
    // clean run the ring, whose float32 sums are ordered differently), so their weights can match bit for bit.
    // --step-timeout 2.5: the freeze (5 s) outlasts it by 2.5 s, and a replacement has 2.5 s from its join to start
    // and compute its first step (1.5 s was once too short on a loaded CI machine: a replacement was replaced).
    const settings = ['--steps', '24', '--optimizer', 'adam', '--lr', '0.001', '--eval-every', '24', '--checksum-every', '1', '--step-timeout', '2.5', '--collective', 'relay', ...SMALL];
    const clean = join(dir, 'replace-clean');
    const faulty = join(dir, 'replace-faulty');
    const a = await runCli(['run', ...settings, '--out', clean]);
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli(['run', ...settings, '--faults', 'pause:1@6:5,kill:2@14', '--lost-worker', 'replace', '--out', faulty]);
    expect(b.code, b.stderr).toBe(0);
    expect(summaryOf(faulty)).toMatchObject({ status: 'completed', stepsCompleted: 24, replacements: 2, lostWorkers: [] });
    const events = records(faulty).filter((x): x is EventRecord => x.kind === 'event');
    expect(events.filter((e) => e.event === 'lost').map((e) => [e.worker, e.step])).toEqual([[1, 6], [2, 14]]);
    expect(events.filter((e) => e.event === 'joined' && /replacing the lost one/.test(e.message)).map((e) => e.worker)).toEqual([1, 2]);
    // Every step's checksums agreed (checked every step), and the final weights are the clean run's.
    expect(events.filter((e) => e.event === 'checksum')).toHaveLength(24);
    expect(readFileSync(join(faulty, 'model', 'weights.bin')).equals(readFileSync(join(clean, 'model', 'weights.bin')))).toBe(true);
  }, 180_000);
});
