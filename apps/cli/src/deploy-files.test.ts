import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { EXPERIMENT_OPTIONS, envOf } from '@shardlab/experiment';
import { COORDINATOR_COMMAND_OPTIONS } from '@shardlab/coordinator';
import { TRAINER_COMMAND_OPTIONS } from '@shardlab/trainer';

/*
 * deploy/compose.yaml passes settings by name, no table of flags and no argument strings: every experiment setting
 * reaches the coordinator as its SHARDLAB_ variable, and every SHARDLAB_ variable either file names is an option of
 * the command that reads it (or one of the few the image's entrypoint reads). A new setting cannot be forgotten.
 */
const ROOT = resolve(__dirname, '../../..');
/** Read by the image's entrypoint (results owner) or by compose itself (interpolation), not options. */
const NOT_OPTIONS = new Set(['SHARDLAB_UID', 'SHARDLAB_GID', 'SHARDLAB_TOKEN']);

/** Variable names of a service's environment (list or mapping form). */
function names(environment: unknown): string[] {
  if (Array.isArray(environment)) return environment.map((e: string) => e.split('=')[0]!);
  return Object.keys((environment ?? {}) as Record<string, unknown>);
}

describe('deploy files pass settings by name', () => {
  for (const file of ['deploy/compose.yaml', 'deploy/compose.sweep.yaml', 'deploy/stack.yaml', 'deploy/stack.sweep.yaml']) {
    it(`${file}: every SHARDLAB_ variable is an option of the command that reads it`, () => {
      const services = (parseYaml(readFileSync(join(ROOT, file), 'utf8')) as { services: Record<string, { environment: unknown }> }).services;
      const known = {
        coordinator: new Set(COORDINATOR_COMMAND_OPTIONS.map((o) => envOf(o.key))),
        trainer: new Set(TRAINER_COMMAND_OPTIONS.map((o) => envOf(o.key))),
      };
      for (const [service, options] of Object.entries(known)) {
        for (const name of names(services[service]?.environment)) {
          if (!NOT_OPTIONS.has(name)) expect(options.has(name), `${file}: ${service} gets ${name}`).toBe(true);
        }
      }
    });
  }

  it('deploy/compose.yaml: the coordinator gets every experiment setting, and no flags or argument strings', () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'deploy/compose.yaml'), 'utf8')) as { services: Record<string, { environment: unknown; command?: unknown }> };
    const given = new Set(names(compose.services['coordinator']!.environment));
    expect(EXPERIMENT_OPTIONS.map((o) => envOf(o.key)).filter((name) => !given.has(name))).toEqual([]);
    for (const s of ['coordinator', 'trainer']) {
      expect(compose.services[s]!.command, s).toBeUndefined();
      expect(names(compose.services[s]!.environment), s).not.toContain('SHARDLAB_ARGS');
    }
  });
});
