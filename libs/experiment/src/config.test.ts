import { describe, expect, it } from 'vitest';
import { ConfigError, flagOf, keyOfFlag, parseFlags } from '@shardlab/options';
import { EXPERIMENT_OPTIONS, defaultConfig, resolveCollective, resolveConfig } from './config';

describe('settings', () => {
  it('defaults are valid and complete', () => {
    const c = resolveConfig({});
    expect(c).toEqual(defaultConfig());
    expect(c.strategy).toBe('iid');
    expect(c.workers).toBe(4);
    expect(c.batchSize).toBe(128);
    for (const o of EXPERIMENT_OPTIONS) expect(keyOfFlag(flagOf(o.key))).toBe(o.key);
  });

  it('parses flags in both spellings and validates them', () => {
    const f = parseFlags(['--batch-size', '32', '--strategy=label-per-node', '--hidden', '64,32', 'extra'], EXPERIMENT_OPTIONS);
    expect(f.positionals).toEqual(['extra']);
    const c = resolveConfig(f.values);
    expect(c).toMatchObject({ batchSize: 32, strategy: 'label-per-node', hidden: [64, 32] });
  });

  it.each([
    [{ batchSize: '0' }, /^--batch-size: must be an integer from 1 to 65536, got "0"$/],
    [{ batchSize: 1.5 }, /^--batch-size: must be an integer/],
    [{ workers: 65 }, /^--workers: must be an integer from 1 to 64, got 65$/],
    [{ lr: 'fast' }, /^--lr: must be a number/],
    [{ strategy: 'random' }, /^--strategy: unknown value "random"; allowed: iid, label-per-node, sequential-single-class, stratified/],
    [{ optimizer: 'lbfgs' }, /^--optimizer: unknown value "lbfgs"; allowed: sgd, momentum, adam$/],
    [{ dataset: 'cifar' }, /^--dataset: unknown dataset "cifar"; allowed: synthetic, fashion-mnist, fashion-mnist-deformed, idx:<dir>, npy:<dir>$/],
    [{ dataset: 'idx:' }, /^--dataset: idx:<dir> needs a directory$/],
    [{ classes: '1,1' }, /^--classes: duplicate class in 1,1$/],
    [{ classes: '3' }, /^--classes: need at least 2 classes/],
    [{ classes: '0,x' }, /^--classes: each entry must be an integer/],
    [{ hidden: '' }, /^--hidden: each entry must be an integer from 1 to 8192, got ""$/],
    [{ localSteps: 5 }, /^--local-steps: only applies to --aggregation fedavg or fedprox/],
    [{ norm: 'sync-batch', aggregation: 'fedavg', localSteps: 2 }, /^--norm: sync-batch combines statistics every step/],
    [{ bogus: 1 }, /^--bogus: unknown setting$/],
  ])('rejects %j', (overrides, message) => {
    expect(() => resolveConfig(overrides)).toThrow(ConfigError);
    expect(() => resolveConfig(overrides)).toThrow(message);
  });

  it('names keys the caller’s way (e.g. a sweep file path)', () => {
    expect(() => resolveConfig({ workers: 0 }, (k) => `x.yaml: arms[1].${k}`)).toThrow(/^x\.yaml: arms\[1\]\.workers: must be an integer/);
  });
});

describe('resolveCollective', () => {
  it('auto (the default) is halving-doubling (ring for a world that is not 2^k) for trainers shardlab starts here, relay for a standalone coordinator', () => {
    expect(resolveConfig({}).collective).toBe('auto');
    expect(resolveCollective(resolveConfig({}), true).collective).toBe('halving-doubling');
    expect(resolveCollective(resolveConfig({ workers: 8 }), true).collective).toBe('halving-doubling');
    expect(resolveCollective(resolveConfig({ workers: 3 }), true).collective).toBe('ring');
    expect(resolveCollective(resolveConfig({}), false).collective).toBe('relay');
  });

  it('auto is relay where the run needs the coordinator replica: --lost-worker continue or replace', () => {
    expect(resolveCollective(resolveConfig({ lostWorker: 'continue' }), true).collective).toBe('relay');
    expect(resolveCollective(resolveConfig({ lostWorker: 'replace' }), true).collective).toBe('relay');
  });

  it('an explicit choice stands; checkpoints work under every collective', () => {
    expect(resolveCollective(resolveConfig({ collective: 'relay' }), true).collective).toBe('relay');
    expect(resolveCollective(resolveConfig({ collective: 'ring' }), false).collective).toBe('ring');
    expect(resolveConfig({ collective: 'ring', checkpointEvery: 10 }).checkpointEvery).toBe(10);
    // auto no longer falls back to relay for a checkpoint: worker 0 sends its state with the step before it.
    expect(resolveCollective(resolveConfig({ checkpointEvery: 10 }), true).collective).toBe('halving-doubling');
    expect(() => resolveConfig({ collective: 'halving-doubling', workers: 6 })).toThrow(/collective: halving-doubling needs a power of two of workers .* got --workers 6; use ring/);
  });
});
