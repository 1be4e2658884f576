import { flagOf, type OptionSpec } from './options';

/** A bad setting. The message names the flag/key and what is allowed; the CLI prints it as one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function describeRange(o: OptionSpec): string {
  if (o.choices) return `one of ${o.choices.join(', ')}`;
  const kind = o.type === 'int' || o.type === 'int-list' ? 'an integer' : 'a number';
  if (o.min !== undefined && o.max !== undefined) return `${kind} from ${o.min} to ${o.max}`;
  return kind;
}

/** Checks one value against its option spec; returns the normalised value or throws ConfigError. */
export function checkOption(o: OptionSpec, value: unknown, where = flagOf(o.key)): unknown {
  const fail = (what: string): never => {
    throw new ConfigError(`${where}: ${what}`);
  };
  const inRange = (n: number) => (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max);
  switch (o.type) {
    case 'int':
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n) || (o.type === 'int' && !Number.isInteger(n)) || !inRange(n)) {
        fail(`must be ${describeRange(o)}, got ${JSON.stringify(value)}`);
      }
      return n;
    }
    case 'enum':
      if (typeof value !== 'string' || !o.choices!.includes(value)) fail(`unknown value ${JSON.stringify(value)}; allowed: ${o.choices!.join(', ')}`);
      return value;
    case 'string':
      if (typeof value !== 'string' || value === '') fail(`must be a non-empty string, got ${JSON.stringify(value)}`);
      return value;
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return fail(`must be true or false, got ${JSON.stringify(value)}`);
    case 'string-list': {
      // A comma-separated string (a flag) or a list of strings (a YAML/JSON key); empty means none.
      const items = typeof value === 'string' ? value.split(',').map((x) => x.trim()).filter((x) => x !== '') : value;
      if (!Array.isArray(items) || items.some((x) => typeof x !== 'string' || x.trim() === '')) return fail(`must be a comma-separated list, got ${JSON.stringify(value)}`);
      return items.map((x: string) => x.trim());
    }
    case 'int-list': {
      const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
      if (!Array.isArray(items) || items.length === 0) return fail(`must be a comma-separated list of integers, got ${JSON.stringify(value)}`);
      return items.map((item) => {
        const n = typeof item === 'string' && item !== '' ? Number(item) : item;
        if (typeof n !== 'number' || !Number.isInteger(n) || !inRange(n)) {
          fail(`each entry must be ${describeRange({ ...o, type: 'int' })}${o.min === undefined ? ' >= 0' : ''}, got ${JSON.stringify(item)}`);
        }
        if (o.min === undefined && (n as number) < 0) fail(`entries must be >= 0, got ${n}`);
        return n as number;
      });
    }
  }
}

/** Validates `values` against `options` (not experiment settings: a command's own flags) and fills defaults. */
export function resolveOptions(values: Record<string, unknown>, options: readonly OptionSpec[], where: (key: string) => string = flagOf): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of options) {
    const v = values[o.key];
    out[o.key] = v === undefined ? o.default : checkOption(o, v, where(o.key));
  }
  return out;
}
