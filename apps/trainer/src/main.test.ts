import { afterEach, describe, expect, it, vi } from 'vitest';
import { trainerMain } from './main';

describe('shardlab trainer flags', () => {
  afterEach(() => vi.restoreAllMocks());

  async function run(argv: string[]) {
    const err: string[] = [];
    const out: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    const code = await trainerMain(argv);
    vi.restoreAllMocks();
    return { code, err: err.join(''), out: out.join('') };
  }

  it.each([
    [[], /--coordinator HOST:PORT \(or SHARDLAB_COORDINATOR\) is required/],
    [['--coordinator', 'no-port'], /--coordinator: expected HOST:PORT, got "no-port"/],
    [['--coordinator', 'a:1', '--backend', 'gpu'], /--backend: unknown value "gpu"; allowed: auto, tensorflow, native, wasm, cpu/],
    [['--coordinator', 'a:1', '--connect-timeout', '0'], /--connect-timeout: must be a number from 0.1 to 86400/],
    [['--coordinator', 'a:1', 'stray'], /unexpected argument stray/],
  ])('%j is a usage error (exit 2, one line)', async (argv, message) => {
    const r = await run(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('prints its usage for --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: shardlab trainer --coordinator HOST:PORT/);
  });
});
