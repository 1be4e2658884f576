import * as grpc from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SplitMix32 } from '@shardlab/data';
import { CHANNEL_OPTIONS, identityInterceptor, loadCoordinatorService, type RunStatus__Output } from '@shardlab/protocol';
import { runCli, startCli, tempDir } from './testing/cli';

/*
 * Fuzzing the coordinator: a bounded number of random and mutated frames to every method, without and with the
 * run token, against a real coordinator process. Zero crashes (the process lives and still answers) and zero
 * hangs (every call ends with a status within its deadline), and the run then completes with real trainers.
 */
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'fuzz-token-0123456789abcdef';
const METHODS = ['GetDataset', 'Join', 'NextStep', 'PushGradient', 'PushGradientStream', 'GetStatus', 'AllReduce'];
const FRAMES_PER_METHOD = 150;

/** A seeded PRNG, so a failure can be replayed with the seed it prints. */
function prng(seed: number): () => number {
  const g = new SplitMix32(seed);
  return () => g.nextFloat();
}

/** Valid-looking requests of each method, to mutate. */
function seeds(method: string): Buffer[] {
  const { service } = loadCoordinatorService();
  const def = (service as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>)[method]!;
  const samples: Record<string, object[]> = {
    GetDataset: [{}],
    Join: [{ protocolVersion: 2, name: 'fuzz', backend: 'cpu', data: { samples: 2000, numClasses: 4, features: 784, labelsSha256: 'ab', featuresSha256: 'cd' }, peerAddress: '127.0.0.1:1' }],
    NextStep: [{ runId: 'x', worker: 0, step: 0 }, { runId: 'x', worker: 4294967295, step: 7 }],
    PushGradient: [{ runId: 'x', worker: 1, step: 0, samples: 128, loss: 1, gradient: { shape: [3], data: Buffer.alloc(12) }, paramChecksum: 'aa', computeMs: 1 }],
    PushGradientStream: [{ runId: 'x', worker: 1, step: 0, samples: 128, loss: 1, gradient: { shape: [3], data: Buffer.alloc(12) }, paramChecksum: 'aa', computeMs: 1 }],
    GetStatus: [{}],
    AllReduce: [{ runId: 'x', worker: 0, step: 0, tag: 1, values: [1, 2, 3] }],
  };
  return samples[method]!.map((m) => def.requestSerialize(m as never));
}

function mutate(frame: Buffer, rand: () => number): Buffer {
  const r = rand();
  if (r < 0.25 || frame.length === 0) return Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
  const out = Buffer.from(frame);
  if (r < 0.6) {
    for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
    return out;
  }
  if (r < 0.8) return out.subarray(0, Math.floor(rand() * out.length));
  // A huge length prefix inside (a field claiming 2^31 bytes), then junk.
  return Buffer.concat([out.subarray(0, Math.floor(rand() * out.length)), Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x07]), Buffer.alloc(8, 0x41)]);
}

function rawCall(address: string, method: string, payload: Buffer, token: string | null): Promise<{ code: number | null }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  if (method === 'PushGradientStream') {
    // The frame as the first message of a stream, which then ends: the stream must end with a status too.
    return new Promise((resolve) => {
      const call = client.makeBidiStreamRequest(`/shardlab.v1.Coordinator/${method}`, (b: Buffer) => b, (b: Buffer) => b, metadata, { deadline: Date.now() + 5000 });
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', (s: grpc.StatusObject) => {
        client.close();
        resolve({ code: s.code });
      });
      call.write(payload);
      call.end();
    });
  }
  return new Promise((resolve) =>
    client.makeUnaryRequest(`/shardlab.v1.Coordinator/${method}`, (b: Buffer) => b, (b: Buffer) => b, payload, metadata, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve({ code: err ? (err as grpc.ServiceError).code : null });
    }),
  );
}

describe('fuzzing the coordinator', () => {
  it(`${METHODS.length} methods x ${FRAMES_PER_METHOD} random and mutated frames, without and with the token: no crash, no hang, and the run completes`, async () => {
    const seed = Date.now() % 100_000;
    const rand = prng(seed);
    const out = join(dir, 'fuzzed');
    const env = { ...process.env, SHARDLAB_TOKEN: TOKEN };
    const c = await startCli(
      ['coordinator', '--port', '0', '--workers', '2', '--steps', '10', '--samples', '2000', '--test-samples', '100', '--eval-every', '10', '--join-timeout', '120', '--out', out],
      /listening on 127\.0\.0\.1:(\d+)/,
      60_000,
      env,
    );
    const address = `127.0.0.1:${c.match[1]}`;
    try {
      let calls = 0;
      for (const method of METHODS) {
        const frames = seeds(method);
        const batch: Promise<{ code: number | null }>[] = [];
        for (let i = 0; i < FRAMES_PER_METHOD; i++) {
          const frame = mutate(frames[i % frames.length]!, rand);
          batch.push(rawCall(address, method, frame, rand() < 0.5 ? TOKEN : null));
        }
        for (const r of await Promise.all(batch)) {
          calls++;
          // Every call ends with a status (no hang: a DEADLINE_EXCEEDED would be one).
          expect(r.code, `seed ${seed}: ${method} got no answer within its deadline`).not.toBe(grpc.status.DEADLINE_EXCEEDED);
        }
      }
      expect(calls).toBe(METHODS.length * FRAMES_PER_METHOD);
      // No crash: the same process answers, and the fuzz took no slot.
      expect(c.child.exitCode, `seed ${seed}: the coordinator died:\n${c.output()}`).toBeNull();
      const { Coordinator } = loadCoordinatorService();
      const client = new Coordinator(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, interceptors: [identityInterceptor({ token: TOKEN })] });
      const status = await new Promise<RunStatus__Output>((resolve, reject) => client.getStatus({}, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res!))));
      client.close();
      expect(status).toMatchObject({ state: 'waiting', joined: 0 });
      // The run still works with real trainers.
      const trainers = await Promise.all([0, 1].map((i) => runCli(['trainer', '--coordinator', address, '--name', `t${i}`], 120_000, env)));
      for (const t of trainers) expect(t.code, t.stderr).toBe(0);
      expect(await c.exited).toBe(0);
    } finally {
      c.child.kill('SIGKILL');
    }
  }, 240_000);
});
