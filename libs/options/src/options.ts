import { suggest } from './suggest';

/**
 * Every experiment setting, once: its config key, its CLI flag (the key in kebab-case),
 * its type, default, allowed range and help text. The CLI parser, `--help`, config
 * validation and the reference in docs/usage.md all read this one table, so a setting has one
 * name everywhere (config.json key, flag, docs).
 */
export type OptionType = 'int' | 'number' | 'string' | 'enum' | 'int-list' | 'string-list' | 'bool';

export interface OptionSpec {
  key: string;
  type: OptionType;
  help: string;
  /** Default value; `undefined` means "not set" (only for optional settings). */
  default?: unknown;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** Free-form text shown in place of choices when they are open-ended (e.g. idx:<dir>). */
  valueHint?: string;
  /**
   * The value when the flag comes alone (`--dashboard` = `--dashboard 8080`): the value is then optional.
   * The next argument is taken as the value only if it looks like one (for int options: digits only).
   */
  bare?: unknown;
}

export function flagOf(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** The environment variable of an option: SHARDLAB_ and the key in upper snake case (batchSize: SHARDLAB_BATCH_SIZE). */
export function envOf(key: string): string {
  return 'SHARDLAB_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

/** What --help says of the environment, once for every command that reads it. */
export const ENVIRONMENT_HELP = `Every option can also come from the environment as SHARDLAB_ and its name in upper snake case
(SHARDLAB_STEPS=500 for --steps, SHARDLAB_BATCH_SIZE for --batch-size; booleans true or false);
a flag wins over the environment.`;

export function keyOfFlag(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** One line per option for `--help`. */
export function formatOptionHelp(options: readonly OptionSpec[]): string {
  const rows = options.map((o) => {
    const value =
      o.type === 'bool'
        ? ''
        : o.bare !== undefined
          ? ` [${o.valueHint ?? o.type.toUpperCase()}]`
          : ' ' + (o.valueHint ?? (o.choices ? o.choices.join('|') : o.type === 'int-list' ? 'N,N,..' : o.type === 'string-list' ? 'A,B,..' : o.type.toUpperCase()));
    const def =
      o.bare !== undefined
        ? ` (alone: ${String(o.bare)})`
        : o.default === undefined
          ? ''
          : ` (default: ${Array.isArray(o.default) ? o.default.join(',') : String(o.default)})`;
    return { left: flagOf(o.key) + value, right: o.help + def };
  });
  const width = Math.min(34, Math.max(...rows.map((r) => r.left.length)) + 2);
  return rows.map((r) => '  ' + (r.left.length + 2 > width ? r.left + '\n' + ' '.repeat(width + 2) : r.left.padEnd(width)) + r.right).join('\n');
}

export interface ParsedFlags {
  /** Raw values by config key (strings, or `true` for bare bool flags); validation happens later. */
  values: Record<string, unknown>;
  /** Where each value came from, for messages: its flag, or its environment variable. */
  where: Record<string, string>;
  help: boolean;
  positionals: string[];
}

/** A flag the parser does not know, or one missing its value. Message names the flag. */
export class FlagError extends Error {
  override name = 'FlagError';
}

/**
 * Parses `--flag value`, `--flag=value` and bare boolean flags against the given options; with `env`, an option
 * not given as a flag is taken from its SHARDLAB_ variable (envOf) when that is set.
 */
export function parseFlags(argv: readonly string[], options: readonly OptionSpec[], env?: NodeJS.ProcessEnv): ParsedFlags {
  const byFlag = new Map(options.map((o) => [flagOf(o.key), o]));
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const o = byFlag.get(flag);
    if (!o) throw new FlagError(`unknown option ${flag}${suggest(flag, [...byFlag.keys(), '--help'])} (see --help)`);
    if (o.type === 'bool' && eq < 0) {
      values[o.key] = true;
      continue;
    }
    if (o.bare !== undefined && eq < 0) {
      const next = argv[i + 1];
      const looksLikeValue = next !== undefined && !next.startsWith('--') && (o.type !== 'int' || /^\d+$/.test(next));
      values[o.key] = looksLikeValue ? argv[++i]! : String(o.bare);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new FlagError(`${flag} needs a value`);
    values[o.key] = value;
  }
  const where: Record<string, string> = Object.fromEntries(Object.keys(values).map((k) => [k, flagOf(k)]));
  for (const o of env ? options : []) {
    const value = env![envOf(o.key)];
    // Empty is unset (a compose or stack file that passes a variable through from a shell that has none).
    if (o.key in values || value === undefined || value === '') continue;
    values[o.key] = value;
    where[o.key] = envOf(o.key);
  }
  return { values, where, help, positionals };
}

/** A `where(key)` for messages: the source parseFlags recorded, else the key's flag. */
export function whereIn(where: Record<string, string>): (key: string) => string {
  return (key) => where[key] ?? flagOf(key);
}
