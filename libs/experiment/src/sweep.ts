import { existsSync, readFileSync } from 'node:fs';
import { parseYamlMapping, readSettingsText, resolveAutoDataset, type Settings } from './settings';
import { join } from 'node:path';
import { fashionMnistAvailable } from '@shardlab/data';
import { ConfigError, checkOption, suggest } from '@shardlab/options';
import { EXPERIMENT_OPTIONS, defaultConfig, resolveCollective, resolveConfig, type ExperimentConfig } from './config';

/*
 * Sweep files: a named set of arms (experiment settings), each run once per seed.
 *
 *   name: seed-question                 # required; names the output directory runs/sweep-<name>
 *   description: one paragraph          # optional
 *   base: { workers: 4, steps: 300 }    # optional; settings shared by every arm
 *   seeds: [1, 2, 3]                    # required; every arm runs once per seed
 *   target: 0.8                         # optional; accuracy target for "steps to reach target"
 *   reference: iid                      # optional; the arm that is the IID reference (weight divergence)
 *   arms:                               # required; name + settings that differ from base
 *     - { name: iid, strategy: iid }
 *
 * Settings are the experiment settings of EXPERIMENT_OPTIONS (config keys, camelCase), checked
 * by the same code as flags and config files; `seed` comes from `seeds`. `dataset: auto` means
 * Fashion-MNIST classes 0-3 when installed, else synthetic data. The file may be YAML or JSON.
 */

export interface SweepArm {
  name: string;
  /** The arm's own settings as written (merged over base for its runs). */
  settings: Record<string, unknown>;
}

export interface SweepRun {
  arm: string;
  seed: number;
  config: ExperimentConfig;
  /** `<sweepDir>/<arm>/seed-<seed>` */
  dir: string;
  /** The reference arm's run with the same seed (null for the reference arm itself, or without a reference). */
  referenceDir: string | null;
}

export interface SweepDataset {
  /** What the file asked for (e.g. `auto`, `synthetic`, `fashion-mnist`). */
  requested: string;
  /** What the runs use, in words, and why when `auto` chose it. */
  description: string;
}

export interface SweepPlan {
  /** The sweep file, as given. */
  file: string;
  name: string;
  description: string;
  /** Output directory: `--out`, else `runs/sweep-<name>`. */
  dir: string;
  base: Record<string, unknown>;
  seeds: number[];
  target: number | null;
  reference: string | null;
  arms: SweepArm[];
  dataset: SweepDataset;
  /** Every arm x seed, seed by seed; within a seed the reference arm first. */
  runs: SweepRun[];
}

export interface LoadSweepOptions {
  /** Output directory (default `runs/sweep-<name>`). */
  out?: string;
  /** Whether Fashion-MNIST is installed (for `dataset: auto`); defaults to the real check. */
  fashionMnistAvailable?: () => boolean;
  /** Settings from the command line (key=value, --steps) over every arm's, whatever the file says. */
  overrides?: Settings;
  /** Only these seeds (in place of the file's). */
  seeds?: number[];
  /** Only these arms of the file (by name); the reference arm, if left out, is no reference. */
  arms?: string[];
}

const TOP_LEVEL_KEYS = ['name', 'description', 'base', 'seeds', 'target', 'reference', 'arms'] as const;
/** Names become directory names. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const NAME_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or digit';

/** Reads, validates and plans a sweep file. Every problem is a one-line ConfigError naming the file and key. */
export function loadSweepFile(path: string, opts: LoadSweepOptions = {}): SweepPlan {
  const text = readSettingsText(path, 'sweep file');
  return parseSweep(text, path, opts);
}

/** Like loadSweepFile, for the text of a sweep file; `file` is only used in messages and the plan. */
export function parseSweep(text: string, file: string, opts: LoadSweepOptions = {}): SweepPlan {
  const at = (path: string) => `${file}: ${path}`;
  const fail = (path: string, what: string): never => {
    throw new ConfigError(`${at(path)}: ${what}`);
  };

  const root = parseYamlMapping(text, file, `a mapping with keys ${TOP_LEVEL_KEYS.join(', ')}`);

  for (const key of Object.keys(root)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) fail(key, `unknown key${suggest(key, TOP_LEVEL_KEYS)}; allowed: ${TOP_LEVEL_KEYS.join(', ')}`);
  }

  const name = root['name'];
  if (name === undefined) fail('name', `missing; the sweep's name (${NAME_RULE}), used for its output directory`);
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) fail('name', `must be ${NAME_RULE}, got ${JSON.stringify(name)}`);

  const description = root['description'] ?? '';
  if (typeof description !== 'string') fail('description', `must be text, got ${JSON.stringify(description)}`);

  const target = root['target'] ?? null;
  if (target !== null && (typeof target !== 'number' || !(target > 0 && target <= 1))) {
    fail('target', `must be an accuracy between 0 and 1 (e.g. 0.8), got ${JSON.stringify(target)}`);
  }

  const fileSeeds = checkSeeds(root['seeds'], at);
  const seeds = opts.seeds ? checkSeeds(opts.seeds, (path) => path.replace(/^seeds/, '--seeds')) : fileSeeds;
  const overrides = opts.overrides ?? { values: {}, where: {} };
  const autoFashion = opts.fashionMnistAvailable ?? fashionMnistAvailable;
  let fashion: boolean | undefined;
  const resolveAuto = (settings: Record<string, unknown>): Record<string, unknown> =>
    resolveAutoDataset(settings, () => (fashion ??= autoFashion()));

  const baseRaw = root['base'] ?? {};
  if (!isRecord(baseRaw)) fail('base', `must be a mapping of experiment settings, got ${JSON.stringify(baseRaw)}`);
  const base = baseRaw as Record<string, unknown>;
  checkSettingKeys(base, 'base', at);
  const baseResolved = resolveAuto(base);
  resolveConfig({ ...baseResolved, ...overrides.values }, (key) => overrides.where[key] ?? at(`base.${key}`));

  const armsRaw = root['arms'];
  if (armsRaw === undefined) fail('arms', 'missing; a list of arms, each { name, <settings> }');
  if (!Array.isArray(armsRaw) || armsRaw.length === 0) fail('arms', `must be a non-empty list of arms, each { name, <settings> }, got ${JSON.stringify(armsRaw)}`);
  const arms: SweepArm[] = [];
  const armConfigs: ExperimentConfig[] = [];
  const firstIndex = new Map<string, number>();
  (armsRaw as unknown[]).forEach((raw, i) => {
    const path = `arms[${i}]`;
    if (!isRecord(raw)) fail(path, `must be a mapping { name, <settings> }, got ${JSON.stringify(raw)}`);
    const { name: armName, ...settings } = raw as Record<string, unknown>;
    if (armName === undefined) fail(`${path}.name`, `missing; each arm needs a name (${NAME_RULE})`);
    if (typeof armName !== 'string' || !NAME_PATTERN.test(armName)) fail(`${path}.name`, `must be ${NAME_RULE}, got ${JSON.stringify(armName)}`);
    const name = armName as string;
    const earlier = firstIndex.get(name);
    if (earlier !== undefined) fail(`${path}.name`, `duplicate arm name ${JSON.stringify(name)} (also arms[${earlier}].name); arm names must be unique`);
    firstIndex.set(name, i);
    checkSettingKeys(settings, path, at);
    const merged = { ...baseResolved, ...resolveAuto(settings), ...overrides.values };
    armConfigs.push(resolveConfig(merged, (key) => overrides.where[key] ?? at(key in settings ? `${path}.${key}` : `base.${key}`)));
    arms.push({ name, settings });
  });

  const referenceRaw = root['reference'] ?? null;
  if (referenceRaw !== null && (typeof referenceRaw !== 'string' || !firstIndex.has(referenceRaw))) {
    fail('reference', `unknown arm ${JSON.stringify(referenceRaw)}; allowed: ${arms.map((a) => a.name).join(', ')}`);
  }
  for (const wanted of opts.arms ?? []) {
    if (!firstIndex.has(wanted)) throw new ConfigError(`--arms: ${file} has no arm ${JSON.stringify(wanted)}${suggest(wanted, [...firstIndex.keys()])}; its arms: ${arms.map((a) => a.name).join(', ')}`);
  }
  const chosen = (name: string) => opts.arms === undefined || opts.arms.includes(name);
  const reference = referenceRaw !== null && chosen(referenceRaw as string) ? (referenceRaw as string) : null;

  const dir = opts.out ?? join('runs', `sweep-${name}`);
  const runDir = (arm: string, seed: number) => join(dir, arm, `seed-${seed}`);
  const order = (reference === null ? arms.map((_, i) => i) : [firstIndex.get(reference)!, ...arms.flatMap((a, i) => (a.name === reference ? [] : [i]))]).filter((i) =>
    chosen(arms[i]!.name),
  );
  const runs: SweepRun[] = seeds.flatMap((seed) =>
    order.map((i) => {
      const arm = arms[i]!.name;
      return {
        arm,
        seed,
        config: { ...armConfigs[i]!, seed },
        dir: runDir(arm, seed),
        referenceDir: reference === null || reference === arm ? null : runDir(reference, seed),
      };
    }),
  );

  return {
    file,
    name: name as string,
    description: (description as string).trim(),
    dir,
    base,
    seeds,
    target: target as number | null,
    reference,
    arms: arms.filter((a) => chosen(a.name)),
    dataset: describeDataset(String(base['dataset'] ?? armConfigs[0]!.dataset), armConfigs, fashion),
    runs,
  };
}

/** True when `dir` holds a finished run: summary.json says status completed. */
export function isRunComplete(dir: string): boolean {
  const path = join(dir, 'summary.json');
  if (!existsSync(path)) return false;
  try {
    const summary: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return isRecord(summary) && summary['status'] === 'completed';
  } catch {
    return false;
  }
}

/**
 * The settings where the run recorded in `dir` (its config.json) differs from `config`, as
 * `key: recorded -> planned`; empty when they match or there is no config.json. Used on resume
 * to warn that a finished run was made with other settings than the sweep file now says. The run recorded what
 * it resolved (--collective auto as the collective it chose), and nothing of settings added since it was made:
 * those count as their defaults.
 */
export function recordedConfigDiff(dir: string, config: ExperimentConfig): string[] {
  let recorded: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    if (!isRecord(parsed)) return [];
    recorded = parsed;
  } catch {
    return [];
  }
  const diffs: string[] = [];
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  // A sweep's runs start their trainers themselves: auto resolves as for them.
  const resolved = resolveCollective(config, true);
  for (const [key, setting] of Object.entries(config)) {
    const planned = key === 'collective' ? resolved.collective : setting;
    // config.json records the backend actually used; what was asked for is requestedBackend.
    const was = key === 'backend' && 'requestedBackend' in recorded ? recorded['requestedBackend'] : key in recorded ? recorded[key] : defaults[key];
    // Settings are numbers, strings, lists or null; an object under a setting's name is something
    // else the run recorded (e.g. the model's spec), not a setting to compare.
    if (isRecord(was)) continue;
    if (JSON.stringify(was) !== JSON.stringify(planned)) diffs.push(`${key}: ${JSON.stringify(was)} -> ${JSON.stringify(planned)}`);
  }
  return diffs;
}

function checkSeeds(raw: unknown, at: (path: string) => string): number[] {
  if (raw === undefined) throw new ConfigError(`${at('seeds')}: missing; a list of integer seeds, e.g. [1, 2, 3]`);
  if (!Array.isArray(raw) || raw.length === 0) throw new ConfigError(`${at('seeds')}: must be a non-empty list of integer seeds, e.g. [1, 2, 3], got ${JSON.stringify(raw)}`);
  const spec = EXPERIMENT_OPTIONS.find((o) => o.key === 'seed')!;
  const seen = new Map<number, number>();
  return raw.map((value, j) => {
    const seed = checkOption(spec, value, at(`seeds[${j}]`)) as number;
    const earlier = seen.get(seed);
    if (earlier !== undefined) throw new ConfigError(`${at(`seeds[${j}]`)}: duplicate seed ${seed} (also seeds[${earlier}])`);
    seen.set(seed, j);
    return seed;
  });
}

/** Every key must be an experiment setting (except `seed`, which comes from `seeds`). */
function checkSettingKeys(settings: Record<string, unknown>, path: string, at: (path: string) => string): void {
  const allowed = EXPERIMENT_OPTIONS.map((o) => o.key).filter((k) => k !== 'seed');
  for (const key of Object.keys(settings)) {
    if (key === 'seed') throw new ConfigError(`${at(`${path}.seed`)}: not allowed here; seeds come from the top-level seeds list`);
    if (!allowed.includes(key)) {
      const extra = path === 'base' ? '' : 'name, ';
      throw new ConfigError(`${at(`${path}.${key}`)}: unknown setting${suggest(key, allowed)}; allowed: ${extra}${allowed.join(', ')}`);
    }
  }
}

function describeDataset(requested: string, configs: readonly ExperimentConfig[], fashion: boolean | undefined): SweepDataset {
  const used = [...new Set(configs.map((c) => (c.dataset === 'synthetic' ? `synthetic ${c.numClasses}-class data` : `${c.dataset}${c.classes ? ` classes ${c.classes.join(',')}` : ''}`)))];
  const why =
    fashion === undefined
      ? ''
      : fashion
        ? ' (dataset: auto; Fashion-MNIST is installed)'
        : ' (dataset: auto; Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist to use it)';
  return { requested, description: used.join(' / ') + why };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
