import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL_OPTIONS, loadCoordinatorService, type CoordinatorClient, type GradientAck, type GradientUpdate__Output } from '@shardlab/protocol';
import { PushStream } from './push-stream';

/** A coordinator that only serves PushGradientStream, with `handle` deciding each answer. */
async function serve(handle: (call: grpc.ServerDuplexStream<GradientUpdate__Output, GradientAck>, update: GradientUpdate__Output) => void) {
  const { service } = loadCoordinatorService();
  const server = new grpc.Server();
  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<never>) => callback({ code: grpc.status.UNIMPLEMENTED });
  server.addService(service, {
    GetDataset: unimplemented,
    Join: unimplemented,
    NextStep: unimplemented,
    PushGradient: unimplemented,
    GetStatus: unimplemented,
    AllReduce: unimplemented,
    PushGradientStream: (call: grpc.ServerDuplexStream<GradientUpdate__Output, GradientAck>) => call.on('data', (u: GradientUpdate__Output) => handle(call, u)),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const { Coordinator } = loadCoordinatorService();
  const client = new Coordinator(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as CoordinatorClient;
  return { server, client };
}

describe('PushStream', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  it('resolves each push with its own answer, in order, on one stream', async () => {
    let streams = 0;
    const { server, client } = await serve((call, u) => call.write({ next: { step: u.step + 1 } }));
    cleanup.push(() => client.close(), () => server.forceShutdown());
    const pushes = new PushStream(client);
    const original = client.pushGradientStream.bind(client);
    client.pushGradientStream = ((...args: Parameters<typeof original>) => (streams++, original(...args))) as typeof client.pushGradientStream;
    const acks = await Promise.all([0, 1, 2].map((step) => pushes.push({ runId: 'r', worker: 0, step })));
    expect(acks.map((a) => a.next?.step)).toEqual([1, 2, 3]);
    expect((await pushes.push({ runId: 'r', worker: 0, step: 7 })).next?.step).toBe(8);
    expect(streams).toBe(1);
    pushes.close();
  });

  it('a refusal rejects the waiting push with its status, and every later push with the same', async () => {
    const { server, client } = await serve((call, u) => {
      if (u.step === 0) call.write({ next: { step: 1 } });
      else call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'run stopped: worker 2 is gone' });
    });
    cleanup.push(() => client.close(), () => server.forceShutdown());
    const pushes = new PushStream(client);
    expect((await pushes.push({ runId: 'r', worker: 0, step: 0 })).next?.step).toBe(1);
    const refused = (await pushes.push({ runId: 'r', worker: 0, step: 1 }).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(refused).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: 'run stopped: worker 2 is gone' });
    await expect(pushes.push({ runId: 'r', worker: 0, step: 2 })).rejects.toBe(refused);
  });

  it('a dropped stream (UNAVAILABLE) is opened again once the channel is back, and the unanswered pushes are resent, marked', async () => {
    const seen: { step: number; resend: boolean }[] = [];
    let dropped = false;
    const { server, client } = await serve((call, u) => {
      seen.push({ step: u.step, resend: u.resend });
      // The first copy of step 1 arrives, then the connection "drops" before the answer.
      if (u.step === 1 && !dropped) {
        dropped = true;
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Connection dropped' });
      } else call.write({ next: { step: u.step + 1 } });
    });
    cleanup.push(() => client.close(), () => server.forceShutdown());
    const reconnects: string[] = [];
    const pushes = new PushStream(client, async (err, what) => void reconnects.push(`${what}: ${err.details}`));
    expect((await pushes.push({ runId: 'r', worker: 0, step: 0 })).next?.step).toBe(1);
    expect((await pushes.push({ runId: 'r', worker: 0, step: 1 })).next?.step).toBe(2);
    expect((await pushes.push({ runId: 'r', worker: 0, step: 2 })).next?.step).toBe(3);
    expect(reconnects).toEqual(['push of step 1: Connection dropped']);
    expect(seen).toEqual([
      { step: 0, resend: false },
      { step: 1, resend: false },
      { step: 1, resend: true },
      { step: 2, resend: false },
    ]);
    pushes.close();
  });

  it('a drop that cannot be mended (the coordinator stays away) rejects the waiting push with the reconnect\'s reason', async () => {
    const { server, client } = await serve((call) => call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Connection dropped' }));
    cleanup.push(() => client.close(), () => server.forceShutdown());
    const pushes = new PushStream(client, async () => {
      throw new Error('could not reconnect within 1 s');
    });
    await expect(pushes.push({ runId: 'r', worker: 0, step: 0 })).rejects.toThrow('could not reconnect within 1 s');
    await expect(pushes.push({ runId: 'r', worker: 0, step: 1 })).rejects.toThrow('could not reconnect within 1 s');
  });

  it('a push that keeps dropping is resent with the time of its first drop, so the trainer can give up after its limit', async () => {
    const { server, client } = await serve((call) => call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Connection dropped' }));
    cleanup.push(() => client.close(), () => server.forceShutdown());
    const since: number[] = [];
    const pushes = new PushStream(client, async (_err, _what, first) => {
      since.push(first);
      if (since.length === 3) throw new Error('kept dropping');
    });
    await expect(pushes.push({ runId: 'r', worker: 0, step: 0 })).rejects.toThrow('kept dropping');
    expect(since).toHaveLength(3);
    expect(new Set(since).size).toBe(1);
  });
});
