import { describe, expect, it } from 'vitest';
import { ConfigError, checkOption, resolveOptions } from './check';
import { describeError, isUserError } from './errors';
import { FlagError, envOf, flagOf, formatOptionHelp, keyOfFlag, parseFlags, whereIn, type OptionSpec } from './options';

const OPTIONS: readonly OptionSpec[] = [
  { key: 'port', type: 'int', default: 50051, min: 0, max: 65535, help: 'port' },
  { key: 'lr', type: 'number', default: 0.05, min: 1e-9, max: 10, help: 'learning rate' },
  { key: 'mode', type: 'enum', default: 'a', choices: ['a', 'b'], help: 'mode' },
  { key: 'out', type: 'string', valueHint: 'DIR', help: 'results directory' },
  { key: 'quiet', type: 'bool', default: false, help: 'no progress' },
  { key: 'hidden', type: 'int-list', default: [128, 64], min: 1, max: 8192, help: 'widths' },
];

describe('flags', () => {
  it('map keys to kebab-case flags and back', () => {
    expect(flagOf('blasThreads')).toBe('--blas-threads');
    expect(keyOfFlag('--blas-threads')).toBe('blasThreads');
  });

  it('parse --flag value, --flag=value, bare booleans, -h and positionals', () => {
    const p = parseFlags(['run', '--port', '1', '--lr=0.1', '--quiet', '-h'], OPTIONS);
    expect(p).toEqual({ values: { port: '1', lr: '0.1', quiet: true }, where: { port: '--port', lr: '--lr', quiet: '--quiet' }, help: true, positionals: ['run'] });
  });

  it('refuse unknown flags and missing values, naming the flag', () => {
    expect(() => parseFlags(['--nope'], OPTIONS)).toThrow(FlagError);
    expect(() => parseFlags(['--port'], OPTIONS)).toThrow(/^--port needs a value$/);
    expect(() => parseFlags(['--port', '--lr', '2'], OPTIONS)).toThrow(/^--port needs a value$/);
  });

  it('take an optional value for flags with a bare value (--dashboard [PORT])', () => {
    const dashboard: OptionSpec = { key: 'dashboard', type: 'int', bare: 8080, min: 0, max: 65535, valueHint: 'PORT', help: 'live page' };
    const parse = (argv: string[]) => parseFlags(argv, [...OPTIONS, dashboard]);
    expect(parse(['--dashboard']).values).toEqual({ dashboard: '8080' });
    expect(parse(['--dashboard', '9000', '--quiet']).values).toEqual({ dashboard: '9000', quiet: true });
    expect(parse(['--dashboard=0']).values).toEqual({ dashboard: '0' });
    // What follows is not a port: the flag stands alone and the word stays a positional.
    expect(parse(['--dashboard', 'sweep.yaml'])).toMatchObject({ values: { dashboard: '8080' }, help: false, positionals: ['sweep.yaml'] });
    expect(parse(['--dashboard', '--quiet']).values).toEqual({ dashboard: '8080', quiet: true });
    expect(formatOptionHelp([dashboard])).toMatch(/--dashboard \[PORT\] +live page \(alone: 8080\)/);
  });
});

describe('values', () => {
  it('are checked against their type and range, the message naming the flag and what is allowed', () => {
    const [port, lr, mode, out, quiet, hidden] = OPTIONS;
    expect(checkOption(port!, '8080')).toBe(8080);
    expect(() => checkOption(port!, '70000')).toThrow(/^--port: must be an integer from 0 to 65535, got "70000"$/);
    expect(() => checkOption(port!, '1.5')).toThrow(ConfigError);
    expect(checkOption(lr!, '0.5')).toBe(0.5);
    expect(() => checkOption(lr!, 'NaN')).toThrow(/--lr: must be a number/);
    expect(() => checkOption(mode!, 'c')).toThrow(/^--mode: unknown value "c"; allowed: a, b$/);
    expect(() => checkOption(out!, '')).toThrow(/--out: must be a non-empty string/);
    expect(checkOption(quiet!, 'false')).toBe(false);
    expect(checkOption(hidden!, '32, 16')).toEqual([32, 16]);
    expect(() => checkOption(hidden!, '32,0')).toThrow(/--hidden: each entry must be an integer from 1 to 8192, got "0"/);
    expect(() => checkOption(port!, '-1', 'x.yaml: arms[0].port')).toThrow(/^x\.yaml: arms\[0\]\.port: /);
  });

  it('resolveOptions fills defaults and checks what was given', () => {
    const own = OPTIONS.slice(0, 1);
    expect(resolveOptions({}, own)).toEqual({ port: 50051 });
    expect(() => resolveOptions({ port: '70000' }, own)).toThrow(/^--port: must be an integer from 0 to 65535/);
  });

  it('--help lists every option with its values and default', () => {
    const help = formatOptionHelp(OPTIONS);
    expect(help.split('\n')).toHaveLength(OPTIONS.length);
    expect(help).toMatch(/--mode a\|b +mode \(default: a\)/);
    expect(help).toMatch(/--hidden N,N,\.\. +widths \(default: 128,64\)/);
    expect(help).toMatch(/--out DIR +results directory$/m);
  });
});

describe('describeError', () => {
  it('prints a user error as its message and anything else with a hint, always one line', () => {
    expect(isUserError(new FlagError('--x needs a value'))).toBe(true);
    expect(describeError(new ConfigError('--port: bad'))).toBe('--port: bad');
    expect(describeError(new TypeError('boom'))).toBe('boom (internal error; rerun with SHARDLAB_DEBUG=1 for a stack trace)');
  });
});

describe('options from the environment', () => {
  it('takes SHARDLAB_<KEY> for an option not given as a flag; a flag wins; a bad value names the variable', () => {
    expect(envOf('blasThreads')).toBe('SHARDLAB_BLAS_THREADS');
    expect(envOf('lr')).toBe('SHARDLAB_LR');
    const env = { SHARDLAB_PORT: '7', SHARDLAB_LR: '0.5', SHARDLAB_QUIET: 'true', SHARDLAB_HIDDEN: '8,4', SHARDLAB_UNRELATED: 'x', SHARDLAB_MODE: '' };
    const p = parseFlags(['--lr', '0.1'], OPTIONS, env);
    expect(p.values).toEqual({ lr: '0.1', port: '7', quiet: 'true', hidden: '8,4' });
    expect(p.where).toEqual({ lr: '--lr', port: 'SHARDLAB_PORT', quiet: 'SHARDLAB_QUIET', hidden: 'SHARDLAB_HIDDEN' });
    expect(resolveOptions(p.values, OPTIONS, whereIn(p.where))).toMatchObject({ lr: 0.1, port: 7, quiet: true, hidden: [8, 4] });
    const bad = parseFlags([], OPTIONS, { SHARDLAB_PORT: '70000', SHARDLAB_QUIET: 'yes' });
    expect(() => resolveOptions(bad.values, OPTIONS, whereIn(bad.where))).toThrow(/^SHARDLAB_PORT: must be an integer from 0 to 65535, got "70000"$/);
    expect(() => resolveOptions({ quiet: 'yes' }, OPTIONS, whereIn(bad.where))).toThrow(/^SHARDLAB_QUIET: must be true or false/);
    // Without an environment given, none is read.
    expect(parseFlags([], OPTIONS).values).toEqual({});
  });
});
