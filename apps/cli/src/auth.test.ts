import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataFingerprint, loadDataset } from '@shardlab/data';
import { datasetSpecFromWire } from '@shardlab/experiment';
import type { DatasetDescription__Output } from '@shardlab/protocol';
import {
  CHANNEL_OPTIONS,
  CREDENTIAL_HEADER,
  PROTOCOL_VERSION,
  WORKER_HEADER,
  identityInterceptor,
  loadCoordinatorService,
  type CallerIdentity,
  type CoordinatorClient,
  type JoinReply__Output,
  type RunStatus__Output,
} from '@shardlab/protocol';
import { runCli, startCli, tempDir } from './testing/cli';

/*
 * The attacks of issue 9, against a real coordinator process started with a run token: outsiders
 * without it, members acting as each other, decode bombs. Each of these worked before the token
 * existed (the run id, readable from GetStatus, was the only proof of membership).
 */
const { Coordinator } = loadCoordinatorService();
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'test-token-0123456789abcdef';
const MiB = 1024 * 1024;

function clientFor(address: string, identity: CallerIdentity): CoordinatorClient {
  return new Coordinator(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, interceptors: [identityInterceptor(identity)] });
}

function rpc<Res>(client: CoordinatorClient, method: 'getDataset' | 'join' | 'nextStep' | 'getStatus' | 'allReduce', req: object): Promise<Res> {
  return new Promise((resolve, reject) =>
    (client[method] as (r: object, o: grpc.CallOptions, cb: grpc.requestCallback<Res>) => void).call(client, req, { deadline: Date.now() + 20_000 }, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as grpc.ServiceError,
  );
  expect(err, 'the call should have been refused').not.toBeNull();
  return err!;
}

/** Sends `payload` as the raw request bytes of `method`: what an attacker's own client can do. */
function rawCall(address: string, method: string, payload: Buffer, metadata = new grpc.Metadata()): Promise<{ err: grpc.ServiceError | null }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  return new Promise((resolve) =>
    client.makeUnaryRequest(`/shardlab.v1.Coordinator/${method}`, (b: Buffer) => b, (b: Buffer) => b, payload, metadata, { deadline: Date.now() + 20_000 }, (err) => {
      resolve({ err: err as grpc.ServiceError | null });
      client.close();
    }),
  );
}

/** CPU time (user + system) a process has used so far, in seconds (Linux; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident memory of a process so far (Linux). */
function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** A packed `repeated uint32` (field 2, as in Tensor.shape) of `bytes` bytes: slow and memory-hungry to decode. */
function packedVarintBomb(bytes: number): Buffer {
  const body = Buffer.alloc(bytes - 10, 0x81); // continuation bytes...
  for (let i = 4; i < body.length; i += 5) body[i] = 0x01; // ...ending a 5-byte varint every 5 bytes
  const header = Buffer.from([0x12, ...varint(body.length)]);
  return Buffer.concat([header, body]);
}
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

describe('a coordinator with a run token, under attack', () => {
  it('outsiders learn nothing, cannot join, and their 60 MiB frames are never decoded (under 1 s of CPU, 100 MB); members cannot act as each other; the run goes on', async () => {
    const out = join(dir, 'attacked');
    const c = await startCli(
      ['coordinator', '--host', '127.0.0.1', '--port', '0', '--workers', '2', '--steps', '3', '--samples', '2000', '--test-samples', '100', '--step-timeout', '20', '--out', out],
      /listening on 127\.0\.0\.1:(\d+)/,
      60_000,
      { ...process.env, SHARDLAB_TOKEN: TOKEN },
    );
    const address = `127.0.0.1:${c.match[1]}`;
    const outsider = clientFor(address, { token: null });
    const wrong = clientFor(address, { token: 'not-the-token-but-long-enough' });
    const member = clientFor(address, { token: TOKEN });
    try {
      // Status without the token: what a health check needs, nothing that identifies the run.
      const open = await rpc<RunStatus__Output>(outsider, 'getStatus', {});
      expect(open).toMatchObject({ state: 'waiting', step: 0, steps: 3, workers: 2, joined: 0, runId: '', strategy: '', error: '' });
      const full = await rpc<RunStatus__Output>(member, 'getStatus', {});
      expect(full.runId).toMatch(/^[0-9a-f-]{36}$/);

      // No slot without the token (squatting), and no dataset description either.
      for (const client of [outsider, wrong]) {
        const err = await failure(rpc(client, 'join', { protocolVersion: PROTOCOL_VERSION, name: 'squatter', backend: 'cpu' }));
        expect(grpc.status[err.code]).toBe('UNAUTHENTICATED');
        expect(grpc.status[(await failure(rpc(client, 'getDataset', {}))).code]).toBe('UNAUTHENTICATED');
      }
      expect((await rpc<RunStatus__Output>(member, 'getStatus', {})).joined).toBe(0);

      // A 60 MiB packed-varint frame from an outsider: refused on its metadata, before a byte of it is read.
      // What it costs the coordinator is measured in its own CPU time and peak memory, which do not depend on how
      // loaded the machine is (decoding this frame took 12.7 s of CPU and 2.8 GB before the token existed).
      const before = peakRssBytes(c.child.pid!);
      const cpuBefore = cpuSeconds(c.child.pid!);
      const bomb = packedVarintBomb(60 * MiB);
      const refused = await rawCall(address, 'PushGradient', bomb);
      expect(grpc.status[refused.err!.code]).toBe('UNAUTHENTICATED');
      // To an open method (GetStatus) the same frame is over the model-derived receive limit: refused at its length prefix.
      const open60 = await rawCall(address, 'GetStatus', bomb);
      expect(grpc.status[open60.err!.code]).toBe('RESOURCE_EXHAUSTED');
      expect(cpuSeconds(c.child.pid!) - cpuBefore).toBeLessThan(1);
      expect(peakRssBytes(c.child.pid!) - before).toBeLessThan(100 * MiB);

      // A member's Join over Join's own limit (16 KiB) is refused without being decoded.
      const tokenOnly = new grpc.Metadata();
      tokenOnly.set('authorization', `Bearer ${TOKEN}`);
      const bigJoin = await rawCall(address, 'Join', packedVarintBomb(256 * 1024), tokenOnly);
      expect(grpc.status[bigJoin.err!.code]).toBe('RESOURCE_EXHAUSTED');
      expect(bigJoin.err!.details).toMatch(/Join: a request of \d+ bytes exceeds this method's limit of 16384 bytes/);

      // Two members join; each gets a credential for its own index only.
      const d = await rpc<DatasetDescription__Output>(member, 'getDataset', {});
      const data = dataFingerprint(loadDataset(datasetSpecFromWire(d.dataset!)).train);
      const replies: JoinReply__Output[] = [];
      for (const name of ['a', 'b\n[coordinator] run finished']) replies.push(await rpc(member, 'join', { protocolVersion: PROTOCOL_VERSION, name, backend: 'cpu', data }));
      const [a, b] = replies as [JoinReply__Output, JoinReply__Output];
      expect(a.credential).toMatch(/^[0-9a-f]{64}$/);
      expect(b.credential).not.toBe(a.credential);

      // Worker 0 acting as worker 1 with its own credential, or with a forged one: refused.
      const asA = clientFor(address, { token: TOKEN, worker: { index: 0, credential: a.credential } });
      const impersonation = await failure(rpc(asA, 'nextStep', { runId: b.runId, worker: 1, step: 0 }));
      expect(grpc.status[impersonation.code]).toBe('PERMISSION_DENIED');
      expect(impersonation.details).toMatch(/credential is worker 0's; it cannot act as worker 1/);
      const forged = clientFor(address, { token: TOKEN, worker: { index: 1, credential: a.credential } });
      const forgedErr = await failure(rpc(forged, 'nextStep', { runId: b.runId, worker: 1, step: 0 }));
      expect(grpc.status[forgedErr.code]).toBe('PERMISSION_DENIED');
      expect(forgedErr.details).toContain(CREDENTIAL_HEADER);
      expect(forgedErr.details).toContain(WORKER_HEADER);
      asA.close();
      forged.close();

      // A hundred more refused calls: counted, not a metrics line each.
      await Promise.all(Array.from({ length: 100 }, () => failure(rpc(outsider, 'join', { protocolVersion: PROTOCOL_VERSION, name: 'x', backend: 'cpu' }))));

      // The run is unharmed: its members are the two that joined with the token, and it is running.
      const status = await rpc<RunStatus__Output>(member, 'getStatus', {});
      expect(status).toMatchObject({ state: 'running', joined: 2, error: '' });
      const assignment = await rpc<{ step: number; done: boolean }>(clientFor(address, { token: TOKEN, worker: { index: 0, credential: a.credential } }), 'nextStep', { runId: a.runId, worker: 0, step: 0 });
      expect(assignment).toMatchObject({ step: 0, done: false });
    } finally {
      outsider.close();
      wrong.close();
      member.close();
      c.child.kill('SIGTERM');
    }
    expect(await c.exited).toBe(1); // stopped by SIGTERM: a failed run, with its files
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    // no token: the outsider's join and dataset request, its bomb, its 100 joins. (The bomb to GetStatus is refused by
    // grpc-js itself at the length prefix, below anything we count.)
    expect(summary.refused).toEqual({ 'no token': 103, 'wrong token': 2, 'oversized Join': 1, impersonation: 1, 'bad worker credential': 1 });
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const refusedLines = lines.filter((r) => r.event === 'refused');
    expect(refusedLines.length).toBeLessThanOrEqual(Object.keys(summary.refused).length);
    // The name with a newline stays on one line, escaped, in the log and in metrics.jsonl.
    expect(c.output()).not.toMatch(/^\[coordinator\] run finished/m);
    expect(lines.find((r) => r.event === 'joined' && r.worker === 1).message).toContain('b\\n[coordinator] run finished');
  }, 120_000);
});

describe('a trainer that vanishes after Join, before the run starts', () => {
  it('frees its slot (its NextStep call is cancelled); a new trainer takes it and the run completes', async () => {
    const out = join(dir, 'lease');
    const env = { ...process.env, SHARDLAB_TOKEN: TOKEN };
    const c = await startCli(
      ['coordinator', '--port', '0', '--workers', '2', '--steps', '5', '--samples', '2000', '--test-samples', '100', '--eval-every', '5', '--out', out],
      /listening on 127\.0\.0\.1:(\d+)/,
      60_000,
      env,
    );
    const address = `127.0.0.1:${c.match[1]}`;
    try {
      const member = clientFor(address, { token: TOKEN });
      const d = await rpc<DatasetDescription__Output>(member, 'getDataset', {});
      const data = dataFingerprint(loadDataset(datasetSpecFromWire(d.dataset!)).train);
      const squatter = await rpc<JoinReply__Output>(member, 'join', { protocolVersion: PROTOCOL_VERSION, name: 'gone', backend: 'cpu', data });
      // It waits for step 0 like a trainer does, then its process "dies": the connection closes under the call.
      const waiting = clientFor(address, { token: TOKEN, worker: { index: squatter.worker, credential: squatter.credential } });
      const pending = rpc(waiting, 'nextStep', { runId: squatter.runId, worker: squatter.worker, step: 0 }).catch(() => null);
      await new Promise((r) => setTimeout(r, 300));
      expect((await rpc<RunStatus__Output>(member, 'getStatus', {})).joined).toBe(1);
      waiting.close();
      await pending;
      let joined = 1;
      for (let i = 0; i < 50 && joined !== 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        joined = (await rpc<RunStatus__Output>(member, 'getStatus', {})).joined;
      }
      expect(joined).toBe(0);
      member.close();
      // Two real trainers fill the slots and run to the end.
      const trainers = await Promise.all([0, 1].map((i) => runCli(['trainer', '--coordinator', address, '--name', `t${i}`], 120_000, env)));
      for (const t of trainers) expect(t.code, t.stderr).toBe(0);
      expect(await c.exited).toBe(0);
    } finally {
      c.child.kill('SIGKILL');
    }
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.find((r) => r.event === 'lost')?.message).toMatch(/worker 0 \(gone\) left before the first step/);
  }, 120_000);
});
