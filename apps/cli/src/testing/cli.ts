import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The built CLI (tests run after `build`, see package.json nx.targets.test.dependsOn). */
export const BUILT_CLI = resolve(__dirname, '../../dist/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `shardlab ...args` as a real process; kills it after `timeoutMs` (the test then fails on the code). */
export function runCli(args: readonly string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BUILT_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Starts `shardlab ...args` and resolves once a line of stderr matches `pattern`. */
export function startCli(
  args: readonly string[],
  pattern: RegExp,
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string; exited: Promise<number | null> }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BUILT_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let text = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${text}`));
    }, timeoutMs);
    let matched = false;
    const onData = (d: Buffer) => {
      text += d;
      const m = text.match(pattern);
      if (m && !matched) {
        matched = true;
        clearTimeout(timer);
        resolvePromise({ child, match: m, output: () => text, exited });
      }
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
    void exited.then(() => {
      if (!matched) {
        clearTimeout(timer);
        reject(new Error(`exited before printing ${pattern}; output:\n${text}`));
      }
    });
  });
}

export function tempDir(prefix = 'shardlab-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
