import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toServiceError } from './errors';
import { CHANNEL_OPTIONS, MAX_MESSAGE_BYTES, SERVER_OPTIONS } from './options';
import { loadCoordinatorService } from './proto';
import { decodeTensor, encodeTensor } from './tensor';
import type {
  CoordinatorClient,
  CoordinatorHandlers,
  GradientAck__Output,
  JoinReply__Output,
  StepAssignment__Output,
  Tensor__Output,
} from './types';
import { PROTOCOL_VERSION, checkProtocolVersion } from './version';

/*
 * Real gRPC over loopback: the generated types, the runtime loader, the codec and the
 * message-size options have to agree with what grpc-js actually puts on the wire.
 */

const { Coordinator, service } = loadCoordinatorService();

/** More than grpc's 4 MiB default receive limit: 1.2M floats = 4.8 MB. */
const BIG = 1_200_000;

function pattern(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2 ** 32 - 0.5) * 2 ** ((s % 40) - 20);
  }
  v[0] = -0;
  v[1] = 1.4e-45;
  if (n > 2) new Uint32Array(v.buffer)[2] = 0x7fc0beef; // NaN with a payload: bytes, not numbers
  return v;
}

function sameBytes(a: Uint8Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** What the test server saw, for assertions on the receiving side. */
const received: {
  gradient: Tensor__Output | null;
  decoded: Float32Array | null;
  alignedOffsets: number;
  unalignedOffsets: number;
} = {
  gradient: null,
  decoded: null,
  alignedOffsets: 0,
  unalignedOffsets: 0,
};

/** A trivial coordinator, typed from the generated handler interface. */
const handlers: CoordinatorHandlers = {
  Join(call, callback) {
    try {
      checkProtocolVersion(call.request.protocolVersion);
      callback(null, {
        protocolVersion: PROTOCOL_VERSION,
        runId: `run-for-${call.request.name}`,
        worker: 0,
        workers: 1,
        model: { kind: 'mlp', inputSize: 784, hidden: [128, 64], classes: 10, initSeed: 7 },
        optimizer: { name: 'adam', lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
        steps: 100,
        checksumEvery: 10,
      });
    } catch (err) {
      callback(toServiceError(err));
    }
  },
  NextStep(call, callback) {
    // The requested step doubles as "how many floats to send back" and seeds the values.
    const n = call.request.step;
    const features = pattern(6, 99);
    callback(null, {
      step: n,
      // The second batch's features carry the server -> client tensor of n floats.
      batches: [
        { features: encodeTensor(features, [2, 3]), labels: [3, 9], ids: [41, 4_000_000_000] },
        { features: encodeTensor(pattern(n, n)), labels: [], ids: [] },
      ],
      reportChecksum: true,
    });
  },
  PushGradient(call, callback) {
    try {
      const g = call.request.gradient;
      received.gradient = g;
      if (g && g.data.byteOffset % 4 === 0) received.alignedOffsets++;
      else received.unalignedOffsets++;
      received.decoded = decodeTensor(g, { length: call.request.samples, field: 'gradient' });
      callback(null, {});
    } catch (err) {
      callback(toServiceError(err));
    }
  },
  PushGradientStream(call) {
    call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not in this test' });
  },
  AllReduce(_call, callback) {
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test' });
  },
  GetStatus(_call, callback) {
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test' });
  },
  GetDataset(_call, callback) {
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test' });
  },
};

async function startServer(options: grpc.ServerOptions | undefined): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server(options);
  server.addService(service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

function unary<T>(invoke: (callback: grpc.requestCallback<T>) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => invoke((err, value) => (err ? reject(err) : resolve(value as T))));
}

async function rejection(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('call unexpectedly succeeded');
}

const opts = (): grpc.CallOptions => ({ deadline: Date.now() + 20_000 });

describe('gRPC loopback with SERVER_OPTIONS / CHANNEL_OPTIONS', () => {
  let tuned: { server: grpc.Server; address: string };
  let defaults: { server: grpc.Server; address: string };
  const clients: CoordinatorClient[] = [];
  const client = (address: string, options?: grpc.ChannelOptions): CoordinatorClient => {
    const c = new Coordinator(address, grpc.credentials.createInsecure(), options);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    tuned = await startServer(SERVER_OPTIONS);
    defaults = await startServer(undefined);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of [tuned?.server, defaults?.server]) {
      if (!s) continue;
      await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
    }
  });

  it('serves Join through handlers typed from the generated code', async () => {
    const c = client(tuned.address, CHANNEL_OPTIONS);
    const reply = await unary<JoinReply__Output>((cb) =>
      c.join({ protocolVersion: PROTOCOL_VERSION, name: 'host-1', backend: 'cpu' }, opts(), cb),
    );
    expect(reply.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(reply.runId).toBe('run-for-host-1');
    // Unset strings arrive as '' (proto3 defaults).
    expect(reply.model).toEqual({ kind: 'mlp', inputSize: 784, hidden: [128, 64], classes: 10, initSeed: 7, norm: '', layers: null });
    // Unset doubles arrive as 0 (proto3 has no presence for them).
    expect(reply.optimizer).toEqual({ name: 'adam', lr: 0.001, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    expect(reply.checksumEvery).toBe(10);
  });

  it('answers a protocol version mismatch with FAILED_PRECONDITION and both versions', async () => {
    const c = client(tuned.address, CHANNEL_OPTIONS);
    const err = await rejection(unary((cb) => c.join({ protocolVersion: 1, name: 'old', backend: 'cpu' }, opts(), cb)));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toBe(`protocol version mismatch: trainer speaks shardlab.v1 protocol 1, coordinator speaks ${PROTOCOL_VERSION}`);
  });

  it('carries Tensor bytes exactly, client -> server', async () => {
    const c = client(tuned.address, CHANNEL_OPTIONS);
    const v = pattern(1001, 5);
    const copy = v.slice();
    const pending = unary<GradientAck__Output>((cb) =>
      c.pushGradient({ step: 1, samples: v.length, gradient: encodeTensor(v) }, opts(), cb),
    );
    // encodeTensor does not copy; grpc-js must have serialized the message by now.
    v.fill(0);
    await pending;
    const g = received.gradient!;
    expect(g.shape).toEqual([1001]);
    expect(sameBytes(g.data, copy)).toBe(true);
    expect(sameBytes(new Uint8Array(decodeTensor(g).buffer, decodeTensor(g).byteOffset, 4004), copy)).toBe(true);
  });

  it('carries Tensor bytes exactly, server -> client, with whatever alignment grpc-js hands out', async () => {
    const c = client(tuned.address, CHANNEL_OPTIONS);
    for (const n of [1, 3, 257, 1000]) {
      const a = await unary<StepAssignment__Output>((cb) => c.nextStep({ step: n }, opts(), cb));
      const expected = pattern(n, n);
      const big = a.batches[1]!.features!;
      expect(big.shape).toEqual([n]);
      expect(sameBytes(big.data, expected)).toBe(true);
      const decoded = decodeTensor(big, { length: n, field: 'features' });
      expect(sameBytes(new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength), expected)).toBe(true);
      expect(a.batches[0]!.labels).toEqual([3, 9]);
      expect(a.batches[0]!.ids).toEqual([41, 4_000_000_000]);
      expect([...decodeTensor(a.batches[0]!.features, { length: 6 })]).toEqual([...pattern(6, 99)]);
    }
  });

  it('passes a message over 4 MiB in both directions with the options', async () => {
    expect(BIG * 4).toBeGreaterThan(4 * 1024 * 1024);
    expect(BIG * 4).toBeLessThan(MAX_MESSAGE_BYTES);
    const c = client(tuned.address, CHANNEL_OPTIONS);
    const v = pattern(BIG, 11);
    await unary((cb) => c.pushGradient({ samples: BIG, gradient: encodeTensor(v) }, opts(), cb));
    expect(sameBytes(received.gradient!.data, v)).toBe(true);
    const a = await unary<StepAssignment__Output>((cb) => c.nextStep({ step: BIG }, opts(), cb));
    expect(sameBytes(a.batches[1]!.features!.data, pattern(BIG, BIG))).toBe(true);
  });

  it('fails the same >4 MiB request with grpc defaults (server receive limit)', async () => {
    const c = client(defaults.address);
    const v = pattern(BIG, 11);
    const err = await rejection(unary((cb) => c.pushGradient({ samples: BIG, gradient: encodeTensor(v) }, opts(), cb)));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/larger than max/i);
    // The same server handles small messages fine: it is the size, nothing else.
    await unary((cb) => c.pushGradient({ samples: 4, gradient: encodeTensor(pattern(4, 1)) }, opts(), cb));
  });

  it('fails the same >4 MiB reply with grpc defaults (client receive limit)', async () => {
    const c = client(tuned.address);
    const err = await rejection(unary((cb) => c.nextStep({ step: BIG }, opts(), cb)));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/larger than max/i);
  });

  it('really receives bytes fields at unaligned offsets, and decodes them', async () => {
    // Where `data` lands in grpc-js's receive buffer shifts with the bytes before it; run
    // ids of 0-3 characters move it through every residue mod 4.
    const c = client(tuned.address, CHANNEL_OPTIONS);
    received.unalignedOffsets = 0;
    for (const runId of ['', 'r', 'ru', 'run']) {
      const v = pattern(333, runId.length);
      await unary((cb) => c.pushGradient({ runId, samples: 333, gradient: encodeTensor(v) }, opts(), cb));
      expect(sameBytes(received.gradient!.data, v)).toBe(true);
      const d = received.decoded!;
      expect(sameBytes(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), v)).toBe(true);
    }
    expect(received.unalignedOffsets).toBeGreaterThan(0);
  });
});
