import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { maxAbsDiff } from '@shardlab/aggregation';
import { initBackend, loadParams } from '@shardlab/model';
import { CHANNEL_OPTIONS, loadCoordinatorService, type CoordinatorClient, type RunStatus__Output } from '@shardlab/protocol';
import { runCli, startCli, tempDir } from './testing/cli';

/*
 * --collective ring (and halving-doubling): the trainers average among themselves over their Peer services (real
 * processes, gRPC on 127.0.0.1); the coordinator only drives the steps.
 */
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the ring all-reduce among trainers', () => {
  /*
   * The equivalence of equivalence.test.ts, among the trainers: label-per-node on 4 x 32 averaged in the ring (or
   * by halving-doubling) equals stratified on 1 x 128 (the same samples every step). Tolerance 1e-5, as there:
   * each adds in float32 in its own order (a few ulps per step), far below the >1e-3 a different batch
   * composition makes.
   * --checksum-every 1: the coordinator compares the 4 replicas' checksums at every step; one mismatch would
   * stop the run, so a completed run means every replica was bit-identical at every check.
   */
  it('label-per-node 4 x 32 under ring and under halving-doubling equals stratified 1 x 128 to 1e-5; every replica identical at every step', async () => {
    const common = ['--dataset', 'synthetic', '--samples', '6000', '--test-samples', '400', '--steps', '50', '--optimizer', 'sgd', '--lr', '0.05', '--seed', '7', '--eval-every', '25', '--quiet'];
    const single = await runCli(['run', ...common, '--strategy', 'stratified', '--workers', '1', '--batch-size', '128', '--out', join(dir, 'single')], 180_000);
    expect(single.code, single.stderr).toBe(0);
    await initBackend('cpu');
    const b = await loadParams(join(dir, 'single', 'model'));
    for (const collective of ['ring', 'halving-doubling']) {
      const run = await runCli(['run', ...common, '--strategy', 'label-per-node', '--workers', '4', '--batch-size', '32', '--collective', collective, '--checksum-every', '1', '--out', join(dir, collective)], 180_000);
      expect(run.code, run.stderr).toBe(0);
      const checks = readFileSync(join(dir, collective, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; event?: string; message?: string })
        .filter((r) => r.kind === 'event' && r.event === 'checksum');
      expect(checks).toHaveLength(50);
      for (const c of checks) expect(c.message).toMatch(/^all 4 replicas at /);
      const a = await loadParams(join(dir, collective, 'model'));
      expect(maxAbsDiff(a.params, b.params), collective).toBeLessThanOrEqual(1e-5);
      const summary = JSON.parse(readFileSync(join(dir, collective, 'summary.json'), 'utf8'));
      expect(summary).toMatchObject({ status: 'completed', collective, stepsCompleted: 50 });
    }
  }, 600_000);

  // Under halving-doubling (the default for 2^k trainers) the dead trainer's partners, not only its ring neighbours, must notice.
  for (const [collective, workers] of [['ring', 3], ['halving-doubling', 4]] as const) it(`a trainer killed mid-run under ${collective} stops the run within the step timeout, with an error naming it`, async () => {
    const out = join(dir, `killed-${collective}`);
    const coordinator = await startCli(
      ['coordinator', '--host', '127.0.0.1', '--port', '0', '--workers', String(workers), '--steps', '400', '--collective', collective, '--step-timeout', '10', '--samples', '4000', '--test-samples', '100', '--eval-every', '400', '--out', out],
      /listening on 127\.0\.0\.1:(\d+)/,
    );
    const address = `127.0.0.1:${coordinator.match[1]}`;
    const trainers = await Promise.all(Array.from({ length: workers }, (_, i) => startCli(['trainer', '--coordinator', address, '--name', `t${i}`], /joined run/)));
    const { Coordinator } = loadCoordinatorService();
    const client: CoordinatorClient = new Coordinator(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    try {
      const status = () => new Promise<RunStatus__Output>((resolve, reject) => client.getStatus({}, (err, s) => (err ? reject(err) : resolve(s!))));
      for (let s = await status(); s.step < 5; s = await status()) await new Promise((r) => setTimeout(r, 50));
      // Which worker index t1 got depends on join order: read it from its log line.
      const victim = trainers[1]!;
      const worker = Number(/worker (\d+)\/\d+ joined/.exec(victim.output())![1]);
      const killedAt = Date.now();
      victim.child.kill('SIGKILL');
      const code = await coordinator.exited;
      const seconds = (Date.now() - killedAt) / 1000;
      expect(code).toBe(1);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { status: string; error: string };
      expect(summary.status).toBe('failed');
      // A peer says so at once (its stream to or from the dead trainer broke), naming it; no waiting for the timeout.
      expect(summary.error).toMatch(new RegExp(`${collective} all-reduce: (cannot send to|the stream from) worker ${worker} at 127\\.0\\.0\\.1:\\d+`));
      expect(seconds).toBeLessThan(10 + 5);
      for (const t of trainers) await t.exited;
    } finally {
      client.close();
      for (const t of trainers) t.child.kill('SIGKILL');
      coordinator.child.kill('SIGKILL');
    }
  }, 120_000);
});
