import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerAlgorithm } from '@shardlab/collective';
import { CHANNEL_OPTIONS, credentialVerifier, generateToken, identityInterceptor, loadPeerService } from '@shardlab/protocol';
import { PeerEndpoint } from './peer';

/* The peers' gRPC transport (ring and halving-doubling) between endpoints in this process, on 127.0.0.1. */
const RUN = 'run-1';
const P = 30_000; // 120 KB chunks at W = 2: over HTTP/2's 64 KB default window

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

describe('PeerEndpoint', () => {
  const open: PeerEndpoint[] = [];
  const clients: grpc.Client[] = [];
  afterEach(() => {
    for (const e of open.splice(0)) e.close();
    for (const c of clients.splice(0)) c.close();
  });

  /** The credentials a coordinator would issue at Join (with a token), and the verifiers it sends with the peers. */
  const credentials = (world: number) => Array.from({ length: world }, (_, w) => `credential-of-${w}-${generateToken()}`);

  /** Endpoints that have joined (attached), not yet connected. */
  async function joined(world: number, token: string | null = null, algorithm: PeerAlgorithm = 'ring') {
    const security = token ? { token, tls: null, insecure: false } : null;
    const endpoints = await Promise.all(Array.from({ length: world }, () => PeerEndpoint.listen('127.0.0.1', 0, security)));
    open.push(...endpoints);
    const issued = token ? credentials(world) : [];
    endpoints.forEach((e, w) => e.attach({ runId: RUN, worker: w, workers: world, credential: issued[w] ?? '' }, P, algorithm));
    const peers = endpoints.map((e) => e.boundAddress);
    const connect = (timeoutSeconds: number) => endpoints.map((e) => e.connect(peers, timeoutSeconds, issued.map(credentialVerifier)));
    return { endpoints, peers, issued, connect };
  }

  async function ring(world: number, token: string | null = null, timeoutSeconds = 10, algorithm: PeerAlgorithm = 'ring') {
    const { endpoints, peers, connect } = await joined(world, token, algorithm);
    return { endpoints, peers, collectives: connect(timeoutSeconds) };
  }

  /** Subscribes to `address` as `worker` (presenting `credential` as worker `worker`'s) and resolves with how the stream ended. */
  function subscribeAs(address: string, worker: number, token: string | null = null, credential = ''): Promise<grpc.ServiceError | 'ok'> {
    const { Peer } = loadPeerService();
    const identity = { token, worker: credential ? { index: worker, credential } : undefined };
    const client = new Peer(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, interceptors: [identityInterceptor(identity)] });
    clients.push(client);
    const stream = client.subscribe({ runId: RUN, worker });
    return new Promise((resolve) => {
      stream.on('data', () => undefined);
      stream.on('error', (err: grpc.ServiceError) => resolve(err));
      stream.on('end', () => resolve('ok'));
    });
  }

  it('averages over the subscriptions: every worker gets the same bytes, for chunks larger than the default window', async () => {
    for (const [world, algorithm] of [[2, 'ring'], [3, 'ring'], [4, 'halving-doubling'], [8, 'halving-doubling']] as const) {
      const { collectives } = await ring(world, null, 10, algorithm);
      const inputs = collectives.map((_, r) => Float32Array.from({ length: P }, (__, i) => Math.sin(i * (r + 1)) + r));
      for (let step = 0; step < 3; step++) {
        const results = (await Promise.all(collectives.map((c, r) => c.average(inputs[r]!, r + 1, step)))).map((x) => x.slice());
        for (const x of results) expect(bits(x)).toEqual(bits(results[0]!));
        const total = (world * (world + 1)) / 2;
        for (const i of [0, 1234, P - 1]) {
          const exact = inputs.reduce((acc, x, r) => acc + x[i]! * (r + 1), 0) / total;
          expect(results[0]![i]!).toBeCloseTo(exact, 5);
        }
      }
      for (const e of open.splice(0)) e.close();
    }
  });

  it('refuses a subscriber that is not the next worker, a second subscription, and a caller without the run token', async () => {
    const token = generateToken();
    const { peers, issued, connect } = await joined(3, token);
    connect(10);
    // Worker 1 receives from worker 0; worker 2 (with its own credential) may not subscribe to worker 0.
    expect(await subscribeAs(peers[0]!, 2, token, issued[2])).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/only worker 1 receives from worker 0/) });
    expect(await subscribeAs(peers[0]!, 1, token, issued[1])).toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    expect(await subscribeAs(peers[0]!, 1, null)).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("a token holder cannot pose as a peer: subscribing to worker 0 as worker 1 before worker 1 does is refused, and worker 1 is then admitted", async () => {
    // The attack of issue 25: a caller with the run token but no slot (or another worker's slot) subscribes to
    // worker 0 as worker 1 first, to read worker 0's all-reduce data and lock the real worker 1 out.
    const token = generateToken();
    const { peers, issued, connect } = await joined(2, token);
    const early = subscribeAs(peers[0]!, 1, token); // the token only
    const forged = subscribeAs(peers[0]!, 1, token, 'a-guess'); // a credential of its own making
    const stolenSlot = subscribeAs(peers[0]!, 1, token, issued[0]); // worker 0's own credential, claiming worker 1
    await new Promise((r) => setTimeout(r, 200)); // they wait for the verifiers, which come with the first step
    const collectives = connect(10);
    for (const attempt of [early, forged, stolenSlot]) {
      expect(await attempt).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/subscription as worker 1 without worker 1's credential/) });
    }
    // The real worker 1 subscribed at connect: the reduction runs.
    const inputs = [Float32Array.from({ length: P }, (_, i) => i), Float32Array.from({ length: P }, (_, i) => -i)];
    const results = await Promise.all(collectives.map((c, r) => c.average(inputs[r]!, 1, 0)));
    expect(results[0]!.every((v) => v === 0)).toBe(true);
    // And a connect without the verifiers is refused under a token (nothing could be checked).
    expect(() => (open[0] as PeerEndpoint).connect(peers, 10, [])).toThrow('sent 0 peer verifiers for 2 workers');
  });

  it('halving-doubling: only the partners (worker XOR 2^j) may subscribe', async () => {
    const { peers } = await ring(4, null, 10, 'halving-doubling');
    // Worker 0 sends to 2 and 1 (which subscribed at connect); 3 is nobody's partner of 0.
    expect(await subscribeAs(peers[0]!, 3)).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/only workers 2, 1 receive from worker 0 \(halving-doubling\)/) });
    expect(await subscribeAs(peers[0]!, 2)).toMatchObject({ code: grpc.status.ALREADY_EXISTS });
  });

  for (const [world, algorithm] of [[3, 'ring'], [4, 'halving-doubling']] as const) it(`${algorithm}: a peer that goes away fails the reduction at once, naming it`, async () => {
    // An hour's timeout, past the test's own: the reduction can fail in time only by hearing the peer go.
    const { endpoints, collectives } = await ring(world, null, 3600, algorithm);
    // One reduction first: every subscription is in place, as after a run's first step.
    await Promise.all(collectives.map((c) => c.average(new Float32Array(P), 1, 0)));
    endpoints[1]!.close();
    await expect(collectives[0]!.average(new Float32Array(P), 1, 1)).rejects.toThrow(/worker 1 at 127\.0\.0\.1:\d+/);
  });

  it('finish: ends this trainer\'s streams cleanly (its receiver sees an end, not a death) and waits for its senders to end theirs', async () => {
    const { endpoints, collectives } = await ring(2, null, 60);
    await Promise.all(collectives.map((c) => c.average(new Float32Array(P), 1, 0)));
    let finished = false;
    // An hour's bound, past the test's own: the finishes can return in time only by seeing the streams end.
    const finishing = endpoints[1]!.finish(3_600_000).then(() => (finished = true));
    await expect(collectives[0]!.average(new Float32Array(P), 1, 1)).rejects.toThrow(/the stream from worker 1 at 127\.0\.0\.1:\d+ ended \(it stopped\)/);
    // Worker 1 still waits for worker 0's stream to end ...
    expect(finished).toBe(false);
    // ... which it does when worker 0 finishes too, not at the bound.
    await endpoints[0]!.finish(3_600_000);
    await finishing;
  });
});
