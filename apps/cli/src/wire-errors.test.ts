import * as grpc from '@grpc/grpc-js';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataFingerprint, loadDataset, type DataFingerprint } from '@shardlab/data';
import { datasetSpecFromWire } from '@shardlab/experiment';
import type { DatasetDescription__Output } from '@shardlab/protocol';
import { paramCount } from '@shardlab/model';
import {
  CHANNEL_OPTIONS,
  PROTOCOL_VERSION,
  encodeTensor,
  loadCoordinatorService,
  type CoordinatorClient,
  type GradientUpdate,
  type JoinReply__Output,
} from '@shardlab/protocol';
import { startCli, tempDir } from './testing/cli';

/*
 * Bad messages on the wire, against a real coordinator process: this test plays the trainers.
 * Policy (docs/architecture.md, "Failure policy"): outsiders are refused and the run goes on; a member that
 * sends a bad gradient is refused with the matching status and the run stops with a message
 * naming the worker, step and fault; a silent worker is declared lost after --step-timeout.
 */
const { Coordinator } = loadCoordinatorService();
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rpc<Req, Res>(client: CoordinatorClient, method: 'getDataset' | 'join' | 'nextStep' | 'pushGradient' | 'getStatus', req: Req): Promise<Res> {
  return new Promise((resolve, reject) =>
    (client[method] as (r: Req, o: grpc.CallOptions, cb: grpc.requestCallback<Res>) => void).call(client, req, { deadline: Date.now() + 20_000 }, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

async function startCoordinator(name: string, extra: string[] = []) {
  const out = join(dir, name);
  const proc = await startCli(
    ['coordinator', '--host', '127.0.0.1', '--port', '0', '--workers', '2', '--steps', '5', '--samples', '2000', '--test-samples', '100', '--out', out, ...extra],
    /listening on 127\.0\.0\.1:(\d+)/,
  );
  const client: CoordinatorClient = new Coordinator(`127.0.0.1:${proc.match[1]}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  return { ...proc, client, out };
}

/** What a trainer does first under --feed ids: load the dataset the coordinator describes, and fingerprint it. */
async function trainerData(client: CoordinatorClient): Promise<DataFingerprint> {
  const d = await rpc<object, DatasetDescription__Output>(client, 'getDataset', {});
  return dataFingerprint(loadDataset(datasetSpecFromWire(d.dataset!)).train);
}

async function joinBoth(client: CoordinatorClient): Promise<JoinReply__Output[]> {
  const data = await trainerData(client);
  const replies: JoinReply__Output[] = [];
  for (let i = 0; i < 2; i++) replies.push(await rpc(client, 'join', { protocolVersion: PROTOCOL_VERSION, name: `fake-${i}`, backend: 'cpu', data }));
  return replies;
}

function gradientFor(reply: JoinReply__Output, step: number, values: Float32Array): GradientUpdate {
  return { runId: reply.runId, worker: reply.worker, step, samples: 128, loss: 1, gradient: encodeTensor(values, [values.length]), paramChecksum: 'x', computeMs: 1 };
}

function parameters(reply: JoinReply__Output): number {
  const m = reply.model!;
  return paramCount({ kind: 'mlp', inputSize: m.inputSize, hidden: m.hidden, classes: m.classes, initSeed: m.initSeed });
}

async function expectStatus(p: Promise<unknown>, code: grpc.status, details: RegExp) {
  const err = (await p.then(
    () => null,
    (e: unknown) => e,
  )) as grpc.ServiceError | null;
  expect(err, 'the call should have failed').not.toBeNull();
  expect(grpc.status[err!.code]).toBe(grpc.status[code]);
  expect(err!.details).toMatch(details);
}

/** The run stopped: the process exits 1, says why on stderr, and summary.json records it. */
async function expectStopped(c: Awaited<ReturnType<typeof startCoordinator>>, why: RegExp) {
  expect(await c.exited).toBe(1);
  expect(c.output()).toMatch(why);
  const summary = JSON.parse(readFileSync(join(c.out, 'summary.json'), 'utf8'));
  expect(summary.status).toBe('failed');
  expect(summary.error).toMatch(why);
  expect(existsSync(join(c.out, 'config.json'))).toBe(true);
  expect(readFileSync(join(c.out, 'metrics.jsonl'), 'utf8')).toMatch(/"event":"joined"/);
}

describe('bad input on the wire', () => {
  it('refuses another protocol version and a malformed join, and keeps serving', async () => {
    const c = await startCoordinator('join');
    try {
      await expectStatus(rpc(c.client, 'join', { protocolVersion: PROTOCOL_VERSION + 1, name: 'old', backend: 'cpu' }), grpc.status.FAILED_PRECONDITION, new RegExp(`${PROTOCOL_VERSION + 1}.*${PROTOCOL_VERSION}`));
      await expectStatus(rpc(c.client, 'join', { protocolVersion: PROTOCOL_VERSION, name: 'no-backend' }), grpc.status.INVALID_ARGUMENT, /backend/);
      await expectStatus(rpc(c.client, 'pushGradient', { runId: 'nope', worker: 0, step: 0 }), grpc.status.PERMISSION_DENIED, /unknown run id/);
      const status = await rpc<object, { state: string; joined: number }>(c.client, 'getStatus', {});
      expect(status).toMatchObject({ state: 'waiting', joined: 0 });
      const [a] = await joinBoth(c.client);
      await expectStatus(rpc(c.client, 'pushGradient', { runId: a!.runId, worker: 5, step: 0 }), grpc.status.PERMISSION_DENIED, /worker 5 never joined/);
      await expectStatus(rpc(c.client, 'join', { protocolVersion: PROTOCOL_VERSION, name: 'third', backend: 'cpu' }), grpc.status.RESOURCE_EXHAUSTED, /2 worker slots/);
    } finally {
      c.client.close();
      c.child.kill();
    }
  }, 60_000);

  it('refuses a trainer whose data differs, naming what differs, before it takes a slot', async () => {
    const c = await startCoordinator('other-data');
    try {
      // The same description with another seed: a trainer that generated other synthetic data.
      const d = await rpc<object, DatasetDescription__Output>(c.client, 'getDataset', {});
      expect(d.feed).toBe('ids');
      const other = dataFingerprint(loadDataset({ ...datasetSpecFromWire(d.dataset!), seed: d.dataset!.seed + 1 }).train);
      await expectStatus(
        rpc(c.client, 'join', { protocolVersion: PROTOCOL_VERSION, name: 'elsewhere', backend: 'cpu', data: other }),
        grpc.status.FAILED_PRECONDITION,
        /^trainer "elsewhere" has other data than the coordinator \(synthetic\): features differ/,
      );
      const fewer = { ...(await trainerData(c.client)), samples: 1999 };
      await expectStatus(rpc(c.client, 'join', { protocolVersion: PROTOCOL_VERSION, name: 'short', backend: 'cpu', data: fewer }), grpc.status.FAILED_PRECONDITION, /samples 2000 here, 1999 there/);
      expect(await rpc<object, { joined: number }>(c.client, 'getStatus', {})).toMatchObject({ joined: 0 });
      expect(await joinBoth(c.client)).toHaveLength(2);
    } finally {
      c.client.close();
      c.child.kill();
    }
  }, 60_000);

  const faults: [string, (r: JoinReply__Output) => GradientUpdate, grpc.status, RegExp][] = [
    ['a gradient of the wrong length', (r) => gradientFor(r, 0, new Float32Array(12)), grpc.status.INVALID_ARGUMENT, /gradient: expected \d+ floats, got 12/],
    ['a gradient with NaN', (r) => gradientFor(r, 0, new Float32Array(parameters(r)).fill(NaN, 100, 101)), grpc.status.INVALID_ARGUMENT, /gradient element 100 is NaN/],
    ['a gradient with Infinity', (r) => gradientFor(r, 0, new Float32Array(parameters(r)).fill(-Infinity, 7, 8)), grpc.status.INVALID_ARGUMENT, /gradient element 7 is -Infinity/],
    ['a gradient for the wrong step', (r) => gradientFor(r, 3, new Float32Array(parameters(r))), grpc.status.FAILED_PRECONDITION, /gradient for step 3, but the run is at step 0/],
    ['a wrong sample count', (r) => ({ ...gradientFor(r, 0, new Float32Array(parameters(r))), samples: 5 }), grpc.status.INVALID_ARGUMENT, /samples is 5, but the batch had 128/],
  ];

  it.each(faults)('refuses %s from a member and stops the run', async (name, make, code, details) => {
    const c = await startCoordinator(name.replace(/\W+/g, '-'));
    try {
      const [a] = await joinBoth(c.client);
      await rpc(c.client, 'nextStep', { runId: a!.runId, worker: a!.worker, step: 0 });
      await expectStatus(rpc(c.client, 'pushGradient', make(a!)), code, details);
      await expectStopped(c, details);
    } finally {
      c.client.close();
      c.child.kill();
    }
  }, 60_000);

  it('declares a silent worker lost after --step-timeout and stops', async () => {
    const c = await startCoordinator('lost', ['--step-timeout', '2']);
    try {
      const [a, b] = await joinBoth(c.client);
      await rpc(c.client, 'nextStep', { runId: a!.runId, worker: a!.worker, step: 0 });
      // Worker b never answers: a's push, which waits for the average, is answered with the reason ...
      await expectStatus(
        rpc(c.client, 'pushGradient', gradientFor(a!, 0, new Float32Array(parameters(a!)))),
        grpc.status.FAILED_PRECONDITION,
        new RegExp(`^run stopped: step 0: no gradient from worker ${b!.worker} \\(fake-1\\) within 2 s`),
      );
      // ... and so is its next long poll.
      const next = await rpc<object, { done: boolean; stopReason: string }>(c.client, 'nextStep', { runId: a!.runId, worker: a!.worker, step: 1 });
      expect(next.done).toBe(true);
      expect(next.stopReason).toMatch(new RegExp(`no gradient from worker ${b!.worker} \\(fake-1\\) within 2 s`));
      await expectStopped(c, /no gradient from worker 1 \(fake-1\) within 2 s/);
    } finally {
      c.client.close();
      c.child.kill();
    }
  }, 60_000);
});
