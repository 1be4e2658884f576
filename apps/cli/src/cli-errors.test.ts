import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { PROTOCOL_VERSION } from '@shardlab/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing/cli';

/** Every bad input ends in one line naming the problem, a non-zero exit, and no stack trace. */
describe('bad input on the command line', () => {
  let busy: Server;
  let busyPort = 0;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => busy.close());

  const cases: [string, () => string[], RegExp][] = [
    ['unknown strategy', () => ['run', '--strategy', 'bogus'], /--strategy: unknown value "bogus"; allowed: iid, label-per-node/],
    ['unknown dataset', () => ['run', '--dataset', 'imagenet'], /--dataset: unknown dataset "imagenet"; allowed: synthetic, fashion-mnist, fashion-mnist-deformed, idx:<dir>/],
    ['batch size 0', () => ['run', '--batch-size', '0'], /--batch-size: must be an integer from 1 to 65536, got "0"/],
    ['batch size not a number', () => ['run', '--batch-size', 'lots'], /--batch-size: must be an integer/],
    ['no workers', () => ['run', '--workers', '0'], /--workers: must be an integer from 1 to 64/],
    ['too many workers', () => ['run', '--workers', '1000'], /--workers: must be an integer from 1 to 64/],
    ['classes not in the data', () => ['run', '--classes', '0,7'], /--classes.*7/],
    ['duplicate classes', () => ['run', '--classes', '1,1'], /--classes: duplicate/],
    ['missing IDX files', () => ['run', '--dataset', 'idx:/nonexistent/fmnist'], /\/nonexistent\/fmnist\/train-images-idx3-ubyte/],
    ['npy directory without its manifest', () => ['run', '--dataset', 'npy:/nonexistent/mine'], /--dataset npy:\/nonexistent\/mine: no dataset\.json there/],
    ['port in use', () => ['run', '--port', String(busyPort), '--steps', '1'], /port in use/],
    ['unknown option', () => ['run', '--bogus-flag', '1'], /unknown option --bogus-flag \(see --help\)/],
    ['a misspelt option', () => ['run', '--stpes', '3'], /unknown option --stpes \(did you mean "--steps"\?\)/],
    ['a misspelt override', () => ['run', 'bachSize=3'], /bachSize=3: unknown setting \(did you mean "batchSize"\?\)/],
    ['a bad override value', () => ['run', 'batch-size=0'], /batch-size=0: must be an integer from 1 to 65536/],
    ['a missing settings file', () => ['run', '--config', '/nonexistent/run.yaml'], /\/nonexistent\/run\.yaml: cannot read settings file \(no such file\)/],
    ['a stray argument', () => ['run', 'fast'], /unexpected argument fast \(settings are --flag value or key=value\)/],
    ['unknown command', () => ['frobnicate'], /unknown command "frobnicate"/],
    ['trainer without coordinator', () => ['trainer'], /--coordinator HOST:PORT \(or SHARDLAB_COORDINATOR\) is required/],
    ['trainer with a malformed address', () => ['trainer', '--coordinator', 'nowhere'], /--coordinator: expected HOST:PORT/],
    ['unreachable coordinator', () => ['trainer', '--coordinator', '127.0.0.1:1', '--connect-timeout', '1'], /cannot reach the coordinator at 127.0.0.1:1/],
    ['unknown backend', () => ['run', '--backend', 'cuda'], /--backend: unknown value "cuda"; allowed: auto, tensorflow, native, wasm, cpu/],
    ['stratified batch not divisible by classes', () => ['run', '--strategy', 'stratified', '--batch-size', '30', '--workers', '1'], /--batch-size/],
    ['coordinator on all interfaces without a token', () => ['coordinator', '--host', '0.0.0.0', '--port', '0'], /--host 0.0.0.0: listening beyond this machine without a run token/],
    ['an unreadable token file', () => ['coordinator', '--token-file', '/dev/null/x'], /--token-file: cannot read \/dev\/null\/x/],
    ['a malformed fault', () => ['run', '--faults', 'explode:1@2'], /--faults: fault "explode:1@2": expected KIND:WORKER@STEP\[:ARG\]/],
    ['a fault for a worker the run does not have', () => ['run', '--workers', '2', '--faults', 'kill:5@2'], /--faults: kill:5@2 names worker 5, but the run has workers 0..1/],
    ['continue among worker threads', () => ['run', '--lost-worker', 'continue', '--runtime', 'threads', '--collective', 'shared-memory'], /--lost-worker: continue is not supported with --collective shared-memory/],
    ['halving-doubling among 3 workers', () => ['run', '--workers', '3', '--collective', 'halving-doubling'], /--collective: halving-doubling needs a power of two of workers \(1, 2, 4, 8, \.\.\.\), got --workers 3; use ring/],
    ['TLS certificate without its key', () => ['coordinator', '--tls-cert', '/etc/hostname'], /--tls-cert and --tls-key go together/],
  ];

  it.each(cases)('%s', async (_name, args, message) => {
    const r = await runCli(args(), 60_000);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.code, 'killed by timeout').not.toBeNull();
    // Progress and log lines ("[coordinator] ...") may precede it; the error itself is one line.
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('[coordinator]'));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('--version names the package and protocol version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(r.stdout.trim()).toBe(`shardlab ${version} (protocol ${PROTOCOL_VERSION}, node ${process.version})`);
  });

  it("compare --help shows compare's own defaults, not run's", async () => {
    const r = await runCli(['compare', '--help']);
    expect(r.stdout).toMatch(/--steps INT +synchronous steps \(default: 200\)/);
    expect(r.stdout).toMatch(/--eval-every INT +.*\(default: --steps \/ 20, so every chart has 20 points\)/);
    expect(r.stdout).toMatch(/default: fashion-mnist classes 0-3 when installed, else synthetic/);
  });

  it('every command answers --help', async () => {
    for (const command of [[], ['compare'], ['run'], ['coordinator'], ['trainer'], ['status'], ['histogram'], ['bench'], ['sweep']]) {
      const r = await runCli([...command, '--help']);
      expect(r.code, command.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: shardlab/);
    }
  });
});
