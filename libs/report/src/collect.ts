import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { describeSettings, readRun, type RunResult, type SweepInfo } from './results';

/*
 * `shardlab report DIR...`: the runs of any mix of run, compare and sweep directories, as one
 * report's arms. A sweep brings its own arms (sweep.json). Other runs are grouped into arms by
 * their config: runs whose config.json is the same except for the seed are seeds of one arm.
 * Arms are named by their run directory (a sweep's by its arm names), prefixed by the directory
 * given when two sources would give the same name.
 */

/** Where a directory's runs came from, in words, for the report's header. */
export interface CollectedRuns {
  info: SweepInfo;
  runs: RunResult[];
  /** One line per directory given: what it was read as. */
  sources: string[];
}

/** A directory that holds no runs, or cannot be read: the message names it. */
export class CollectError extends Error {
  override name = 'CollectError';
}

/** Config keys that differ between seeds of the same experiment, or are bookkeeping: left out when grouping. */
const PER_SEED_KEYS = new Set(['seed', 'runId', 'startedAt', 'modelSpec', 'datasetDescription', 'strategyDescription', 'backend', 'requestedBackend', 'classNames', 'provenance']);

const isRunDir = (dir: string) => existsSync(join(dir, 'summary.json')) || existsSync(join(dir, 'metrics.jsonl'));

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new CollectError(`${path}: ${(err as Error).message}`);
  }
}

interface Source {
  /** The directory as given. */
  given: string;
  kind: 'sweep' | 'runs';
  sweep?: { info: SweepInfo; refs: { arm: string; seed: number; dir: string }[] };
  /** Run directories (not a sweep). */
  runDirs?: string[];
}

function sweepSource(dir: string): Source {
  const sweep = readJson(join(dir, 'sweep.json'));
  const listed = Array.isArray(sweep['runs']) ? (sweep['runs'] as { arm: string; seed: number; dir: string }[]) : [];
  // Run directories as the sweep recorded them (relative to where it ran), else where a sweep puts them.
  const refs = listed.map((r) => {
    const own = join(dir, r.arm, `seed-${r.seed}`);
    return { arm: r.arm, seed: r.seed, dir: existsSync(own) || !existsSync(r.dir) ? own : r.dir };
  });
  const info: SweepInfo = {
    name: String(sweep['name'] ?? basename(resolve(dir))),
    description: String(sweep['description'] ?? ''),
    dataset: String(sweep['dataset'] ?? ''),
    target: typeof sweep['target'] === 'number' ? sweep['target'] : null,
    reference: typeof sweep['reference'] === 'string' ? sweep['reference'] : null,
    seeds: Array.isArray(sweep['seeds']) ? (sweep['seeds'] as number[]) : [],
    arms: Array.isArray(sweep['arms']) ? (sweep['arms'] as SweepInfo['arms']) : [],
    base: (sweep['base'] as Record<string, unknown>) ?? {},
    date: String(sweep['date'] ?? ''),
  };
  return { given: dir, kind: 'sweep', sweep: { info, refs } };
}

/** How deep below a directory given on the command line runs are looked for: runs/sweep-x/arm/seed-1. */
const RUN_DEPTH = 4;

/** What one directory given on the command line holds. */
function readSource(dir: string): Source {
  if (!existsSync(dir)) throw new CollectError(`${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new CollectError(`${dir}: not a directory (give run, compare or sweep directories)`);
  if (existsSync(join(dir, 'sweep.json'))) return sweepSource(dir);
  if (isRunDir(dir)) return { given: dir, kind: 'runs', runDirs: [dir] };
  // A compare directory (one run per strategy), a sweep's, or any tree of them (runs/, where TensorBoard users
  // point --logdir): every run directory below, to RUN_DEPTH levels, not looking inside a run.
  const runDirs: string[] = [];
  const walk = (at: string, depth: number): void => {
    for (const name of readdirSync(at).sort()) {
      const sub = join(at, name);
      if (name.startsWith('.') || !statSync(sub).isDirectory()) continue;
      if (isRunDir(sub)) runDirs.push(sub);
      else if (depth < RUN_DEPTH) walk(sub, depth + 1);
    }
  };
  walk(dir, 1);
  if (!runDirs.length) {
    throw new CollectError(`${dir}: no runs in it (a run directory has summary.json or metrics.jsonl; a sweep directory has sweep.json; a compare directory has one run directory per strategy)`);
  }
  return { given: dir, kind: 'runs', runDirs };
}

/** The config without its per-seed keys, as a canonical string: equal strings are seeds of one arm. */
function groupKey(config: Record<string, unknown> | null): string {
  if (!config) return '';
  const entries = Object.entries(config).filter(([k]) => !PER_SEED_KEYS.has(k)).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(entries);
}

/** The settings a reader wants in the header when they are the same for every arm. */
const HEADLINE_KEYS = ['dataset', 'classes', 'samples', 'workers', 'batchSize', 'steps', 'strategy', 'optimizer', 'lr', 'momentum', 'model', 'hidden', 'norm', 'aggregation', 'localSteps', 'collective', 'evalEvery'];

/** A run's own name: its directory's (the arm directory for a seed-N directory). */
function runName(dir: string): string {
  const abs = resolve(dir);
  const name = basename(abs);
  return /^seed-\d+$/.test(name) ? basename(resolve(abs, '..')) : name;
}

/** The settings of each group that are not the same in all of them (what tells the arms apart). */
function distinguishing(configs: readonly (Record<string, unknown> | null)[]): { base: Record<string, unknown>; own: Record<string, unknown>[] } {
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c ?? {})))].filter((k) => !PER_SEED_KEYS.has(k));
  const same = (k: string) => configs.every((c) => JSON.stringify(c?.[k]) === JSON.stringify(configs[0]?.[k]));
  const base = Object.fromEntries(keys.filter(same).map((k) => [k, configs[0]?.[k]]));
  const own = configs.map((c) => Object.fromEntries(keys.filter((k) => !same(k) && c?.[k] !== undefined).map((k) => [k, c?.[k]])));
  return { base, own };
}

/** Reads every directory and makes one report's arms and runs of them. Runs without config.json are listed, not drawn. */
export function collectRuns(dirs: readonly string[], title?: string): CollectedRuns {
  if (!dirs.length) throw new CollectError('name at least one run, compare or sweep directory');
  const sources = dirs.map(readSource);
  const arms: { name: string; source: Source; settings: Record<string, unknown>; runs: RunResult[] }[] = [];
  const looseGroups: { key: string; name: string; source: Source; runs: RunResult[] }[] = [];
  const broken: RunResult[] = [];
  for (const source of sources) {
    if (source.sweep) {
      for (const arm of source.sweep.info.arms) {
        const refs = source.sweep.refs.filter((r) => r.arm === arm.name);
        arms.push({ name: arm.name, source, settings: arm.settings, runs: refs.map((r) => readRun(r)) });
      }
      continue;
    }
    for (const dir of source.runDirs!) {
      const run = readRun({ arm: runName(dir), seed: 0, dir });
      // Without config.json there is no telling what the run was: it is listed as broken, never drawn as an arm.
      if (!run.config) {
        broken.push({ ...run, arm: dir, error: `broken: no config.json${run.summary ? '' : ' nor summary.json'}, so not a run that can be read` });
        continue;
      }
      run.seed = typeof run.config?.['seed'] === 'number' ? run.config['seed'] : (run.summary?.seed ?? 0);
      const key = groupKey(run.config);
      const group = run.config ? looseGroups.find((g) => g.key === key && g.source === source && !g.runs.some((r) => r.seed === run.seed)) : undefined;
      if (group) group.runs.push(run);
      else looseGroups.push({ key, name: run.arm, source, runs: [run] });
    }
  }
  const { own } = distinguishing(looseGroups.map((g) => g.runs[0]!.config));
  looseGroups.forEach((g, i) => arms.push({ name: g.name, source: g.source, settings: Object.keys(own[i]!).length ? own[i]! : { strategy: g.runs[0]!.config?.['strategy'] }, runs: g.runs }));

  // Names that collide get the directory they came from in front.
  const count = (name: string) => arms.filter((a) => a.name === name).length;
  const named = arms.map((a) => ({ ...a, name: count(a.name) > 1 ? `${basename(resolve(a.source.given))}/${a.name}` : a.name }));
  for (const [i, a] of named.entries()) if (named.findIndex((b) => b.name === a.name) !== i) a.name = `${a.name} (${i + 1})`;
  const armRuns = named.flatMap((a) => a.runs.map((r) => ({ ...r, arm: a.name })));
  const runs = [...armRuns, ...broken];

  const sweeps = sources.filter((s) => s.sweep).map((s) => s.sweep!.info);
  const allConfigs = armRuns.map((r) => r.config);
  // A sweep describes its data once; other runs each in their config.json.
  const looseData = looseGroups.flatMap((g) => g.runs).map((r) => String(r.config?.['datasetDescription'] ?? r.config?.['dataset'] ?? ''));
  const datasets = [...new Set([...sweeps.map((s) => s.dataset), ...looseData])].filter(Boolean);
  const seeds = [...new Set(armRuns.map((r) => r.seed))].sort((a, b) => a - b);
  const targets = [...new Set(sweeps.map((s) => s.target).filter((t): t is number => t !== null))];
  const only = sweeps.length === 1 && sources.length === 1 ? sweeps[0]! : null;
  const described = sources.map((s) =>
    s.sweep
      ? `${s.given}: sweep ${s.sweep.info.name} (${s.sweep.info.arms.length} arms, ${s.sweep.refs.length} runs)`
      : `${s.given}: ${s.runDirs!.length} run${s.runDirs!.length === 1 ? '' : 's'}${brokenIn(s)}`,
  );
  function brokenIn(s: Source): string {
    const n = broken.filter((r) => s.runDirs!.includes(r.dir)).length;
    return n ? ` (${n} broken: no config.json)` : '';
  }
  const info: SweepInfo = {
    name: title ?? only?.name ?? sources.map((s) => basename(resolve(s.given))).join(' + '),
    description: only?.description ?? `Runs from ${sources.map((s) => s.given).join(', ')}. Runs with the same settings except the seed are the seeds of one arm.`,
    dataset: datasets.length > 3 ? `${datasets.length} datasets (see each arm's settings)` : datasets.join('; '),
    target: targets.length === 1 ? targets[0]! : null,
    reference: only?.reference ?? null,
    seeds,
    arms: named.map((a) => ({ name: a.name, settings: a.settings })),
    base: only?.base ?? Object.fromEntries(Object.entries(distinguishing(allConfigs).base).filter(([k, v]) => HEADLINE_KEYS.includes(k) && v !== null)),
    date: new Date().toISOString(),
  };
  return { info, runs, sources: described };
}

/** One line per arm: its name and settings (for the command's output). */
export function describeArms(info: SweepInfo): string[] {
  return info.arms.map((a) => `${a.name}: ${describeSettings(a.settings)}`);
}
