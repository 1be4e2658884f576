import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHANNEL_OPTIONS, loadCoordinatorService, type CoordinatorClient, type RunStatus__Output } from '@shardlab/protocol';
import type { EventRecord, MetricsRecord, StepRecord } from '@shardlab/report';
import { runCli, startCli, tempDir } from './testing/cli';

/*
 * --lost-worker continue|replace under ring and halving-doubling: a trainer SIGKILLed mid-run, the survivors'
 * all-reduce fails, they keep the step's starting state, and the coordinator has the step done again among the
 * workers then in the run, their collective re-formed (ring with the survivors; halving-doubling where the count
 * allows it). --checksum-every 1: the coordinator compares every member's parameters at every step, so a completed
 * run means every replica, the replacement's included from its first step, was bit-identical at every step.
 */
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COMMON = ['--steps', '30', '--samples', '4000', '--test-samples', '200', '--eval-every', '10', '--checksum-every', '1', '--step-timeout', '10', '--optimizer', 'momentum', '--lr', '0.01', '--quiet'];
const records = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsRecord);
const events = (out: string, kind: EventRecord['event']) => records(out).filter((r): r is EventRecord => r.kind === 'event' && r.event === kind);
const summaryOf = (out: string) => JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));

describe('elastic membership among trainers', () => {
  for (const collective of ['ring', 'halving-doubling'] as const) {
    it(`${collective}, --lost-worker continue: a trainer killed at step 10, step 10 done again by the 3 survivors, re-formed`, async () => {
      const out = join(dir, `continue-${collective}`);
      const r = await runCli(['run', ...COMMON, '--collective', collective, '--lost-worker', 'continue', '--faults', 'kill:2@10', '--out', out], 180_000);
      expect(r.code, r.stderr).toBe(0);
      expect(summaryOf(out)).toMatchObject({ status: 'completed', stepsCompleted: 30, lostWorkers: [2], collective });
      const reformed = events(out, 'reformed');
      expect(reformed).toHaveLength(1);
      expect(reformed[0]!.step).toBe(10);
      // Three members: halving-doubling cannot, so they form a ring, and the coordinator says so.
      expect(reformed[0]!.message).toMatch(collective === 'ring' ? /step 10 again among 3 worker\(s\), ring$/ : /step 10 again among 3 worker\(s\), the ring \(halving-doubling needs a power of two, not 3\)$/);
      const checks = events(out, 'checksum');
      expect(checks.map((c) => c.step)).toEqual(Array.from({ length: 30 }, (_, t) => t));
      for (const c of checks) expect(c.message).toMatch(c.step < 10 ? /^all 4 replicas at / : /^all 3 replicas at /);
      // Every step once; from step 10 on, the survivors' 3 x 128 samples.
      const steps = records(out).filter((x): x is StepRecord => x.kind === 'step');
      expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 30 }, (_, t) => t));
      expect(steps.map((s) => s.samples)).toEqual(Array.from({ length: 30 }, (_, t) => (t < 10 ? 512 : 384)));
    }, 240_000);

    it(`${collective}, --lost-worker replace: the replacement joins the re-formed collective with the current state; the run ends bit-identical to an uninterrupted one`, async () => {
      const straight = join(dir, `straight-${collective}`);
      const s = await runCli(['run', ...COMMON, '--collective', collective, '--out', straight], 180_000);
      expect(s.code, s.stderr).toBe(0);
      const out = join(dir, `replace-${collective}`);
      const r = await runCli(['run', ...COMMON, '--collective', collective, '--lost-worker', 'replace', '--faults', 'kill:2@10', '--out', out], 180_000);
      expect(r.code, r.stderr).toBe(0);
      expect(summaryOf(out)).toMatchObject({ status: 'completed', stepsCompleted: 30, replacements: 1, lostWorkers: [] });
      expect(events(out, 'reformed').map((e) => e.step)).toEqual([10]);
      expect(events(out, 'reformed')[0]!.message).toMatch(new RegExp(`step 10 again among 4 worker\\(s\\), ${collective}$`));
      // The replacement's parameters equal the others' at its first check (step 10), and at every one after.
      for (const c of events(out, 'checksum')) expect(c.message).toMatch(/^all 4 replicas at /);
      // The same batches, the step done again from the same state: the weights of the run without the fault.
      expect(readFileSync(join(out, 'model', 'weights.bin')).equals(readFileSync(join(straight, 'model', 'weights.bin')))).toBe(true);
    }, 360_000);
  }

  it('a standalone coordinator under ring: a trainer SIGKILLed from outside mid-run, the run goes on with the survivors', async () => {
    const out = join(dir, 'standalone');
    const coordinator = await startCli(
      ['coordinator', '--host', '127.0.0.1', '--port', '0', '--workers', '3', '--steps', '300', '--collective', 'ring', '--lost-worker', 'continue', '--step-timeout', '5', '--samples', '4000', '--test-samples', '100', '--eval-every', '300', '--checksum-every', '1', '--out', out],
      /listening on 127\.0\.0\.1:(\d+)/,
    );
    const address = `127.0.0.1:${coordinator.match[1]}`;
    const trainers = await Promise.all(Array.from({ length: 3 }, (_, i) => startCli(['trainer', '--coordinator', address, '--name', `t${i}`], /joined run/)));
    const { Coordinator } = loadCoordinatorService();
    const client: CoordinatorClient = new Coordinator(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    try {
      const status = () => new Promise<RunStatus__Output>((resolve, reject) => client.getStatus({}, (e, s) => (e ? reject(e) : resolve(s!))));
      while ((await status()).step < 20) await new Promise((res) => setTimeout(res, 50));
      trainers[1]!.child.kill('SIGKILL');
      expect(await coordinator.exited).toBe(0);
      expect(await trainers[0]!.exited).toBe(0);
      expect(await trainers[2]!.exited).toBe(0);
      const summary = summaryOf(out);
      expect(summary).toMatchObject({ status: 'completed', stepsCompleted: 300 });
      expect(summary.lostWorkers).toHaveLength(1);
      expect(events(out, 'reformed')).toHaveLength(1);
      const checks = events(out, 'checksum');
      expect(checks).toHaveLength(300);
      expect(checks.at(-1)!.message).toMatch(/^all 2 replicas at /);
    } finally {
      client.close();
      for (const t of trainers) t.child.kill('SIGKILL');
      coordinator.child.kill('SIGKILL');
    }
  }, 240_000);
});
