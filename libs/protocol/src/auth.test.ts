import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_HEADER, OversizedMessage, RunSecret, UnsafeMessage, TOKEN_HEADER, WORKER_HEADER, authenticatedWorker, guardInterceptor, hasToken, limitRequests, refusal } from './auth';
import { loadCoordinatorService } from './proto';

const metadata = (entries: Record<string, string>) => {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
};

describe('run token and worker credentials', () => {
  const secret = new RunSecret('the-run-token-0123456789');

  it('open methods need nothing; the rest need the token; acting as a worker needs that worker\'s credential', () => {
    expect(refusal(secret, 'open', metadata({}))).toBeNull();
    expect(refusal(secret, 'token', metadata({}))).toMatchObject({ code: grpc.status.UNAUTHENTICATED, kind: 'no token' });
    expect(refusal(secret, 'token', metadata({ [TOKEN_HEADER]: 'Bearer nope' }))).toMatchObject({ code: grpc.status.UNAUTHENTICATED, kind: 'wrong token' });
    expect(refusal(secret, 'token', metadata({ [TOKEN_HEADER]: 'the-run-token-0123456789' }))).toMatchObject({ kind: 'no token' }); // not a bearer
    const token = { [TOKEN_HEADER]: 'Bearer the-run-token-0123456789' };
    expect(refusal(secret, 'token', metadata(token))).toBeNull();
    expect(refusal(secret, 'worker', metadata(token))).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    const as2 = { ...token, [WORKER_HEADER]: '2', [CREDENTIAL_HEADER]: secret.credentialFor(2) };
    expect(refusal(secret, 'worker', metadata(as2))).toBeNull();
    expect(authenticatedWorker(secret, metadata(as2))).toBe(2);
    // Worker 2's credential does not make you worker 3; nor does a credential from another coordinator's key.
    expect(refusal(secret, 'worker', metadata({ ...as2, [WORKER_HEADER]: '3' }))).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    const other = new RunSecret('the-run-token-0123456789');
    expect(refusal(secret, 'worker', metadata({ ...token, [WORKER_HEADER]: '2', [CREDENTIAL_HEADER]: other.credentialFor(2) }))).not.toBeNull();
    expect(hasToken(secret, metadata(token))).toBe(true);
    expect(hasToken(secret, metadata({}))).toBe(false);
  });

  it('without a secret everything passes and no worker is proven', () => {
    expect(refusal(null, 'worker', metadata({}))).toBeNull();
    expect(hasToken(null, metadata({}))).toBe(true);
    expect(authenticatedWorker(null, metadata({ [WORKER_HEADER]: '1' }))).toBeNull();
  });
});

describe('limitRequests', () => {
  it('hands over an OversizedMessage instead of decoding a request over its limit, and decodes the rest as before', () => {
    const { service } = loadCoordinatorService();
    const limited = limitRequests(service, { Join: 10 });
    const small = service.Join.requestSerialize({ protocolVersion: 2 });
    expect(limited.Join.requestDeserialize(small)).toEqual(service.Join.requestDeserialize(small));
    const big = service.Join.requestSerialize({ protocolVersion: 2, name: 'x'.repeat(100) });
    const refused = limited.Join.requestDeserialize(big) as unknown;
    expect(refused).toBeInstanceOf(OversizedMessage);
    expect(refused).toMatchObject({ method: 'Join', bytes: big.length, limit: 10 });
    expect(limited.GetStatus).toBe(service.GetStatus);
  });

  it('refuses a push whose tensor shape would balloon when decoded (the decode bomb), before decoding it', () => {
    const { service } = loadCoordinatorService();
    const limited = limitRequests(service, { PushGradient: 64 * 1024 * 1024, PushGradientStream: 64 * 1024 * 1024 });
    const honest = service.PushGradient.requestSerialize({ runId: 'r', worker: 1, step: 3, samples: 32, gradient: { shape: [4, 25], data: Buffer.alloc(400) }, params: { shape: [100], data: Buffer.alloc(400) } });
    expect(limited.PushGradient.requestDeserialize(honest)).toEqual(service.PushGradient.requestDeserialize(honest));
    // 200,000 one-byte dimensions: 200 KB on the wire, 200,000 numbers once decoded (46M in the attack on a big model).
    for (const field of ['gradient', 'buffers', 'params'] as const) {
      const bomb = service.PushGradient.requestSerialize({ runId: 'r', worker: 1, step: 3, [field]: { shape: new Array(200_000).fill(1), data: Buffer.alloc(4) } });
      for (const method of ['PushGradient', 'PushGradientStream'] as const) {
        const refused = limited[method].requestDeserialize(bomb) as unknown;
        expect(refused, `${field} ${method}`).toBeInstanceOf(UnsafeMessage);
        expect((refused as UnsafeMessage).details).toMatch(/^field (6|9|12)'s shape takes 200000 bytes \(a tensor's dimensions take at most 40\)$/);
      }
    }
    // Bytes that do not parse are left to the decoder, which names what is wrong.
    expect(() => limited.PushGradient.requestDeserialize(Buffer.from([0x32, 0xff]))).toThrow();
  });
});

describe('guardInterceptor on a stream', () => {
  it('checks a worker credential when the stream opens and again with every later message: a refilled slot refuses its old holder', async () => {
    const secret = new RunSecret('the-run-token-0123456789');
    let generation = 0;
    const refused: string[] = [];
    const echo: grpc.ServiceDefinition = {
      Echo: {
        path: '/test.Guarded/Echo',
        requestStream: true,
        responseStream: true,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    const server = new grpc.Server({ interceptors: [guardInterceptor({ secret, access: { Echo: 'worker' }, generationOf: () => generation, onRefused: (kind) => refused.push(kind) })] });
    server.addService(echo, { Echo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => call.on('data', (m: Buffer) => call.write(m)) });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const Client = grpc.makeGenericClientConstructor(echo, 'Guarded');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const open = (credential: string) => {
        const md = metadata({ [TOKEN_HEADER]: 'Bearer the-run-token-0123456789', [WORKER_HEADER]: '1', [CREDENTIAL_HEADER]: credential });
        const stream = (client as unknown as { Echo(md: grpc.Metadata): grpc.ClientDuplexStream<Buffer, Buffer> }).Echo(md);
        const events: (Buffer | grpc.ServiceError)[] = [];
        let wake: (() => void) | null = null;
        stream.on('data', (m: Buffer) => (events.push(m), wake?.()));
        stream.on('error', (e: grpc.ServiceError) => (events.push(e), wake?.()));
        const next = async () => {
          while (events.length === 0) await new Promise<void>((r) => (wake = r));
          return events.shift()!;
        };
        return { stream, next };
      };
      // A stale credential is refused at once.
      const stale = open(secret.credentialFor(1, 5));
      stale.stream.write(Buffer.from('x'));
      expect(await stale.next()).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      // The current holder's messages pass, until the slot gets a new generation.
      const holder = open(secret.credentialFor(1, 0));
      holder.stream.write(Buffer.from('one'));
      expect(String(await holder.next())).toBe('one');
      holder.stream.write(Buffer.from('two'));
      expect(String(await holder.next())).toBe('two');
      generation = 1;
      holder.stream.write(Buffer.from('three'));
      const err = (await holder.next()) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toContain('this worker slot has a new holder');
      expect(refused).toEqual(['bad worker credential', 'bad worker credential']);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
