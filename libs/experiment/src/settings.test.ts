import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from './config';
import { whereIn } from '@shardlab/options';
import { bySource, commandLineSettings, layerSettings, loadSettingsFile, parseOverrides, type Settings } from './settings';

const flags = (values: Record<string, unknown>): Settings => bySource(values, {}).flags;
const whereOf = (settings: Settings) => whereIn(settings.where);

describe('settings from a file, flags and key=value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-settings-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('layers the command line over the file, and names where each bad value came from', () => {
    const fromFile = loadSettingsFile(file('a.yaml', 'steps: 20\nstrategy: label-per-node\nseed: 3\nlr: 0.5\n'));
    const cli = commandLineSettings(flags({ lr: '0.1' }), parseOverrides(['batch-size=64', 'hidden=16,8']));
    const settings = layerSettings(fromFile, cli);
    const config = resolveConfig(settings.values, whereOf(settings));
    expect(config).toMatchObject({ steps: 20, strategy: 'label-per-node', seed: 3, lr: 0.1, batchSize: 64, hidden: [16, 8] });
    const bad = layerSettings(loadSettingsFile(file('b.yaml', 'steps: 0\n')), parseOverrides(['workers=x']));
    expect(() => resolveConfig(bad.values, whereOf(bad))).toThrow(/b\.yaml: steps: must be an integer|workers=x: must be an integer/);
    expect(() => resolveConfig({ workers: 'x' }, whereOf(parseOverrides(['workers=x'])))).toThrow(/^workers=x: must be an integer from 1/);
  });

  it('refuses unknown keys with a suggestion, a sweep file, a setting given twice, and a file that is no mapping', () => {
    expect(() => loadSettingsFile(file('c.yaml', 'stpes: 3\n'))).toThrow(/c\.yaml: stpes: unknown setting \(did you mean "steps"\?\)/);
    expect(() => loadSettingsFile(file('d.yaml', 'name: x\narms: []\n'))).toThrow(/this looks like a sweep file/);
    expect(() => loadSettingsFile(file('e.yaml', '- 1\n'))).toThrow(/e\.yaml: expected a mapping/);
    expect(() => loadSettingsFile(file('f.yaml', 'steps: [1\n'))).toThrow(/f\.yaml:\d+:\d+: YAML syntax error/);
    expect(() => loadSettingsFile(join(dir, 'none.yaml'))).toThrow(/none\.yaml: cannot read settings file \(no such file\)/);
    expect(() => parseOverrides(['stesp=1'])).toThrow(/^stesp=1: unknown setting \(did you mean "steps"\?\)$/);
    expect(() => parseOverrides(['steps=1', 'steps=2'])).toThrow(/steps=2: steps is given twice/);
    expect(() => parseOverrides(['seed=1'], false)).toThrow(/seeds list/);
    expect(() => commandLineSettings(flags({ steps: '1' }), parseOverrides(['steps=2']))).toThrow(/^steps=2: steps is also given as --steps; give it once$/);
  });

  it('reads dataset: auto as this machine has it', () => {
    const path = file('g.yaml', 'dataset: auto\n');
    expect(loadSettingsFile(path, () => true).values).toEqual({ dataset: 'fashion-mnist', classes: [0, 1, 2, 3] });
    expect(loadSettingsFile(path, () => false).values).toEqual({ dataset: 'synthetic' });
  });
});
