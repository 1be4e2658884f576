import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { runCoordinator } from '@shardlab/coordinator';
import { TOKEN_ENV, type ExperimentConfig, type RunOutcome } from '@shardlab/experiment';
import { generateToken } from '@shardlab/protocol';
import type { BackendChoice } from '@shardlab/model';
import type { RunObserver } from '@shardlab/report';
import { sharedMemoryBuffers } from '@shardlab/collective';
import { NODE_FLAGS } from './node-flags';
import { startTrainerThread, type TrainerThread } from './trainer-thread';

/**
 * The CLI entry that child trainer processes run: this package's built main. Spelled via ../dist so that it
 * names the same file whether this module runs from dist/ (the CLI) or from src/ (tests, which build first).
 */
export const CLI_MAIN = join(__dirname, '..', 'dist', 'main.js');

export interface EmbeddedOptions {
  out: string;
  port: number;
  quiet?: boolean;
  /** Extra flags for every trainer (tests). */
  trainerArgs?: string[];
  /** Trainer i runs on trainerBackends[i] instead of --backend (a mixed cluster; tests). */
  trainerBackends?: readonly BackendChoice[];
  /** See RunOptions in @shardlab/experiment: parameter snapshots / weight divergence reference. */
  saveSnapshots?: boolean;
  reference?: string;
  /** Continue the run in `out` from its checkpoint. */
  resume?: boolean;
  /** Watches the run (the live dashboard). */
  observer?: RunObserver;
}

/**
 * Embedded mode: the coordinator in this process, N trainers as child OS processes,
 * all talking gRPC on 127.0.0.1. A trainer that exits early stops the run with its last
 * words; on the way out every trainer is waited for (and killed if it lingers).
 * Loopback is not private on a shared machine, so the run has a fresh token all the same; the
 * trainers get it through their environment (never argv, which every user can read in ps).
 */
export async function runEmbedded(config: ExperimentConfig, opts: EmbeddedOptions): Promise<RunOutcome> {
  const children: ChildProcess[] = [];
  const threads: TrainerThread[] = [];
  const exited: Promise<void>[] = [];
  const token = generateToken();
  try {
    return await runCoordinator(config, {
      security: { token, tls: null, insecure: false },
      host: '127.0.0.1',
      port: opts.port,
      out: opts.out,
      quiet: opts.quiet,
      saveSnapshots: opts.saveSnapshots,
      reference: opts.reference,
      resume: opts.resume,
      observer: opts.observer,
      trainersHere: true,
      onListening: (address, session) => {
        if (config.runtime === 'threads') {
          // Worker threads of this process (trainer-thread.ts), averaging through one set of shared buffers.
          const sharedMemory = sharedMemoryBuffers(config.workers, session.parameters);
          const debug = (line: string) => process.env['SHARDLAB_DEBUG'] && process.stderr.write(line + '\n');
          const keepalive = { time: config.keepaliveTime, timeout: config.keepaliveTimeout };
          for (let i = 0; i < config.workers; i++) {
            const name = `trainer-${i}`;
            const backend = opts.trainerBackends?.[i] ?? config.backend;
            const t = startTrainerThread({ coordinator: address, name, backend, blasThreads: config.blasThreads, keepalive, token, sharedMemory }, debug);
            threads.push(t);
            exited.push(
              t.ended.then((why) => {
                if (why && (session.state === 'waiting' || session.state === 'running')) session.workerGone(name, why);
              }),
            );
          }
          return;
        }
        /** Trainer processes by the name they join with, and how to start another one in their place. */
        const running = new Map<string, { child: ChildProcess; restart: () => void }>();
        const start = (name: string, backend: BackendChoice, generation: number): void => {
          const label = generation ? `${name}-r${generation}` : name;
          const child = spawn(
            process.execPath,
            [
              ...NODE_FLAGS, CLI_MAIN, 'trainer', '--coordinator', address, '--name', label,
              '--backend', backend, '--blas-threads', String(config.blasThreads),
              '--keepalive-time', String(config.keepaliveTime), '--keepalive-timeout', String(config.keepaliveTimeout),
              ...(opts.trainerArgs ?? []),
            ],
            // Their own process group: Ctrl-C in a terminal reaches the coordinator alone, which stops the run at a step
            // boundary and tells them; they would otherwise die mid-step and fail the run before its checkpoint.
            { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, [TOKEN_ENV]: token }, detached: true },
          );
          children.push(child);
          running.set(label, { child, restart: () => start(name, backend, generation + 1) });
          let tail = '';
          child.stderr!.on('data', (chunk: Buffer) => {
            tail = (tail + chunk.toString()).slice(-2000);
            if (process.env['SHARDLAB_DEBUG']) process.stderr.write(chunk);
          });
          exited.push(
            new Promise((resolve) =>
              child.on('exit', (code, signal) => {
                if (code !== 0 && (session.state === 'waiting' || session.state === 'running')) {
                  const last = tail.trim().split('\n').filter(Boolean).at(-1) ?? '';
                  // Stops the run, or (--lost-worker continue) takes the worker out of it, or (replace) frees its slot.
                  session.workerGone(label, `${label} exited with ${signal ?? `code ${code}`}${last ? `: ${last}` : ''}`);
                }
                resolve();
              }),
            ),
          );
        };
        // --lost-worker replace: like torchrun's restarts, a fresh process takes a vacant slot (a silent trainer
        // that still runs is killed first, so two never act as one worker).
        session.onVacancy((name) => {
          const t = running.get(name);
          if (!t) return;
          running.delete(name);
          if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill('SIGKILL');
          t.restart();
        });
        for (let i = 0; i < config.workers; i++) start(`trainer-${i}`, opts.trainerBackends?.[i] ?? config.backend, 0);
      },
    });
  } finally {
    const grace = setTimeout(() => {
      children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'));
      threads.forEach((t) => t.terminate());
    }, 10_000);
    await Promise.all(exited);
    clearTimeout(grace);
  }
}
