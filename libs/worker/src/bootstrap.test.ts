import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, initParams, type ModelSpec } from '@shardlab/model';
import { PROTOCOL_VERSION, encodeTensor, type JoinReply__Output } from '@shardlab/protocol';
import { bootstrapWorker } from './bootstrap';
import { Replica } from './replica';
import { WorkerError } from './worker-loop';

const spec: ModelSpec = { kind: 'mlp', inputSize: 6, hidden: [5], classes: 3, initSeed: 4 };

function reply(over: Partial<JoinReply__Output> = {}): JoinReply__Output {
  return {
    protocolVersion: PROTOCOL_VERSION,
    runId: 'r',
    worker: 1,
    workers: 4,
    model: { kind: 'mlp', inputSize: 6, hidden: [5], classes: 3, initSeed: 4, norm: 'none', inputShape: [] } as unknown as JoinReply__Output['model'],
    optimizer: { name: 'momentum', lr: 0.1, momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    steps: 10,
    checksumEvery: 1,
    aggregation: 'sync-sgd',
    localSteps: 1,
    proxMu: 0,
    feed: 'ids',
    collective: 'relay',
    stepTimeout: 30,
    faults: ['slow:1@0:5', 'kill:2@3'],
    credential: '',
    startStep: 0,
    params: null,
    optimizerState: Buffer.alloc(0),
    buffers: null,
    combine: 'mean',
    trim: 1,
    krumF: 1,
    buffersRule: 'broadcast',
    elastic: false,
    ...over,
  };
}

describe('bootstrapWorker', () => {
  beforeAll(() => initBackend('cpu'));

  it('builds the model, replica and rule the reply describes, and this worker\'s faults only', async () => {
    const s = await bootstrapWorker(reply(), 'relay');
    expect(s.spec).toMatchObject(spec);
    expect(Array.from(s.replica.params)).toEqual(Array.from(initParams(spec)));
    expect(s.startStep).toBe(0);
    expect(s.faults.describe()).toBe('slow:1@0:5');
    expect(s.faults.at(0).delayMs).toBe(5);
    s.model.dispose();
  });

  it('starts from the state a start after step 0 carries, bit for bit', async () => {
    // A replica two momentum steps in: its parameters and optimizer state, as a checkpoint holds them.
    const source = new Replica(spec, { name: 'momentum', lr: 0.1, momentum: 0.9 });
    source.apply(new Float32Array(source.params.length).fill(0.5));
    source.apply(new Float32Array(source.params.length).fill(-0.25));
    const params = source.params.slice();
    const optimizerState = source.optimizerState();
    const s = await bootstrapWorker(
      reply({ startStep: 7, params: encodeTensor(params, [params.length]), optimizerState: Buffer.from(optimizerState.buffer) }),
      'relay',
    );
    expect(s.startStep).toBe(7);
    expect(Array.from(s.replica.params)).toEqual(Array.from(params));
    expect(Array.from(s.replica.optimizerState())).toEqual(Array.from(optimizerState));
    s.model.dispose();
  });

  it('refuses a reply it cannot train from, naming the field', async () => {
    const bad = (over: Partial<JoinReply__Output>, collective: 'relay' | 'halving-doubling' | 'ring' | 'shared-memory' = 'relay') => expect(bootstrapWorker(reply(over), collective)).rejects;
    await bad({ aggregation: 'median' }).toThrow(WorkerError);
    await bad({ aggregation: 'median' }).toThrow('aggregation "median"');
    await bad({ workers: 3 }, 'halving-doubling').toThrow('needs a power of two');
    await bad({ faults: ['explode:1@2'] }).toThrow("the coordinator's faults");
    await bad({ model: { ...reply().model!, kind: 'transformer' } }).toThrow("the coordinator's model: model kind \"transformer\"");
    await bad({ startStep: 3, params: null }).toThrow("the coordinator's state at step 3: params: missing");
    await bad({ combine: 'mode' }).toThrow('combine by "mode"');
    await bad({ combine: 'median' }, 'ring').toThrow('--combine median under the ring, which only ever holds partial sums');
    await bad({ combine: 'trimmed-mean', trim: 2 }, 'shared-memory').toThrow("the coordinator's --combine: --trim 2");
  });

  it('hands a robust rule to a collective that computes it (shared memory), and to none under relay', async () => {
    const shared = await bootstrapWorker(reply({ combine: 'multi-krum', workers: 5 }), 'shared-memory');
    expect(shared.robust).toEqual({ name: 'multi-krum', trim: 1, krumF: 1 });
    shared.model.dispose();
    const relay = await bootstrapWorker(reply({ combine: 'median' }), 'relay');
    expect(relay.robust).toBeNull();
    relay.model.dispose();
  });
});
