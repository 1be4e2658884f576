import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { fashionMnistAvailable } from '@shardlab/data';
import { ConfigError, flagOf, keyOfFlag, suggest } from '@shardlab/options';
import { EXPERIMENT_OPTIONS } from './config';

/*
 * Where experiment settings come from, and how a message names each one's source: a settings file
 * (`run --config FILE`: the keys of a sweep's `base`), flags (`--steps 100`) and overrides on the
 * command line (`steps=100`, the key as in config.json, or its flag's spelling `batch-size=64`).
 * The command line wins over the file; one setting given twice on the command line is refused.
 */

/** Settings by config key, and for each the text that names where it was given (for error messages). */
export interface Settings {
  values: Record<string, unknown>;
  where: Record<string, string>;
}

const SETTING_KEYS = EXPERIMENT_OPTIONS.map((o) => o.key);
const OVERRIDE = /^([A-Za-z][A-Za-z0-9-]*)=(.*)$/s;
/** `dataset: auto` in a file: Fashion-MNIST classes 0-3 when installed, else synthetic data. */
export const AUTO_CLASSES = [0, 1, 2, 3];

/** True for a command-line argument of the form key=value. */
export function isOverride(arg: string): boolean {
  return OVERRIDE.test(arg);
}

/** The key=value arguments as settings; every key must be an experiment setting (`seed` only where `allowSeed`). */
export function parseOverrides(args: readonly string[], allowSeed = true): Settings {
  const out: Settings = { values: {}, where: {} };
  for (const arg of args) {
    const [, raw, value] = OVERRIDE.exec(arg) ?? [];
    if (raw === undefined) throw new ConfigError(`${arg}: expected key=value`);
    const key = raw.includes('-') ? keyOfFlag(`--${raw}`) : raw;
    const allowed = allowSeed ? SETTING_KEYS : SETTING_KEYS.filter((k) => k !== 'seed');
    if (!allowed.includes(key)) {
      const why = key === 'seed' ? 'the seeds of a sweep come from its seeds list (or --seeds)' : `unknown setting${suggest(key, allowed)}`;
      throw new ConfigError(`${raw}=${value}: ${why}`);
    }
    if (key in out.values) throw new ConfigError(`${raw}=${value}: ${key} is given twice`);
    out.values[key] = value;
    out.where[key] = `${raw}=${value}`;
  }
  return out;
}

/**
 * Parsed values (parseFlags with the environment) split by source: those given as flags, and those that came from
 * SHARDLAB_ variables, which lie under the whole command line (flags and key=value alike).
 */
export function bySource(values: Record<string, unknown>, where: Record<string, string>): { flags: Settings; environment: Settings } {
  const flags: Settings = { values: {}, where: {} };
  const environment: Settings = { values: {}, where: {} };
  for (const [key, value] of Object.entries(values)) {
    const source = where[key] ?? flagOf(key);
    const into = source.startsWith('--') ? flags : environment;
    into.values[key] = value;
    into.where[key] = source;
  }
  return { flags, environment };
}

/** Command-line settings: flags and key=value overrides; the same setting in both is refused, naming both. */
export function commandLineSettings(flags: Settings, overrides: Settings): Settings {
  for (const key of Object.keys(overrides.values)) {
    if (key in flags.values) throw new ConfigError(`${overrides.where[key]}: ${key} is also given as ${flags.where[key]}; give it once`);
  }
  return { values: { ...flags.values, ...overrides.values }, where: { ...flags.where, ...overrides.where } };
}

/** `over` wins over `under`, key by key. */
export function layerSettings(under: Settings, over: Settings): Settings {
  return { values: { ...under.values, ...over.values }, where: { ...under.where, ...over.where } };
}

/** `dataset: auto` replaced by what it means on this machine (and whether Fashion-MNIST decided it). */
export function resolveAutoDataset(settings: Record<string, unknown>, available: () => boolean = fashionMnistAvailable): Record<string, unknown> {
  if (settings['dataset'] !== 'auto') return settings;
  const rest = { ...settings };
  delete rest['dataset'];
  return available() ? { dataset: 'fashion-mnist', classes: AUTO_CLASSES, ...rest } : { dataset: 'synthetic', ...rest };
}

/** Parses YAML (or JSON) text into a mapping, or a ConfigError naming file, line and column. */
export function parseYamlMapping(text: string, file: string, expected: string): Record<string, unknown> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, col } = lines.linePos(syntax.pos[0]);
    throw new ConfigError(`${file}:${line}:${col}: YAML syntax error: ${syntax.message.split('\n')[0]}`);
  }
  const root: unknown = doc.toJS();
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new ConfigError(`${file}: expected ${expected}`);
  return root as Record<string, unknown>;
}

/** Reads a file or throws a ConfigError naming it. */
export function readSettingsText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`${path}: cannot read ${what} (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`);
  }
}

/**
 * A run's settings file (`run --config FILE`): a YAML or JSON mapping of experiment settings, the keys of a
 * sweep's `base` plus `seed`. Unknown keys are refused with a suggestion; values are checked by resolveConfig.
 */
export function loadSettingsFile(path: string, available: () => boolean = fashionMnistAvailable): Settings {
  const root = parseYamlMapping(readSettingsText(path, 'settings file'), path, 'a mapping of experiment settings (steps: 100, strategy: iid, ...)');
  for (const key of Object.keys(root)) {
    if (!SETTING_KEYS.includes(key)) {
      const sweepKey = ['arms', 'seeds', 'base', 'name'].includes(key) ? '; this looks like a sweep file: shardlab sweep FILE' : '';
      throw new ConfigError(`${path}: ${key}: unknown setting${suggest(key, SETTING_KEYS)}${sweepKey}`);
    }
  }
  const values = resolveAutoDataset(root, available);
  return { values, where: Object.fromEntries(Object.keys(values).map((k) => [k, `${path}: ${k}`])) };
}
