import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { abortSharedMemory, type SharedMemoryBuffers } from '@shardlab/collective';
import type { BackendChoice } from '@shardlab/model';
import { describeError, type Keepalive } from '@shardlab/options';
import { freeze, runTrainer } from '@shardlab/trainer';

/*
 * --runtime threads: a trainer as a worker thread of the process that runs the coordinator. It is the same
 * trainer as a process (runTrainer: join, the step loop, reports over gRPC on 127.0.0.1), except that it averages
 * through the shared-memory collective and that fault injection's kill ends the thread, not the process.
 */

export interface TrainerThreadJob {
  kind: 'shardlab-trainer-thread';
  coordinator: string;
  name: string;
  backend: BackendChoice;
  blasThreads: number;
  keepalive: Keepalive;
  token: string;
  sharedMemory: SharedMemoryBuffers;
}

/** What a trainer thread tells the thread that started it. */
type ThreadMessage = { kind: 'log'; line: string } | { kind: 'joined'; worker: number } | { kind: 'finished' } | { kind: 'failed'; message: string };

/** This package's built trainer-thread module (threads run JavaScript: named via ../dist, like CLI_MAIN). */
const THREAD_MAIN = join(__dirname, '..', 'dist', 'trainer-thread.js');

/** The exit code of a thread that fault injection kills (128 + SIGKILL, as a killed process reports it). */
const KILLED = 137;

/** A started trainer thread: its end, with the last thing it said when it failed. */
export interface TrainerThread {
  /** Resolves when the thread ends: null when it finished its run, else why it ended (its last words). */
  ended: Promise<string | null>;
  terminate(): void;
}

/** Starts a trainer thread; when it ends early the shared-memory collective is aborted so that no other worker waits for it. */
export function startTrainerThread(job: Omit<TrainerThreadJob, 'kind'>, debug: (line: string) => void): TrainerThread {
  const thread = new Worker(THREAD_MAIN, { workerData: { kind: 'shardlab-trainer-thread', ...job } satisfies TrainerThreadJob, stdout: false, stderr: false });
  let worker = -1;
  let finished = false;
  let last = '';
  const ended = new Promise<string | null>((resolve) => {
    thread.on('message', (m: ThreadMessage) => {
      if (m.kind === 'joined') worker = m.worker;
      else if (m.kind === 'log') debug(m.line);
      else if (m.kind === 'finished') finished = true;
      else last = m.message;
    });
    thread.on('error', (err) => (last = describeError(err)));
    thread.on('exit', (code) => {
      if (code === 0 && finished) return resolve(null);
      if (worker >= 0) abortSharedMemory(job.sharedMemory, worker);
      const how = code === KILLED ? 'was killed' : code === 0 ? 'ended before its run did' : `exited with code ${code}`;
      resolve(`${job.name} ${how}${last ? `: ${last}` : ''}`);
    });
  });
  return { ended, terminate: () => void thread.terminate() };
}

async function threadMain(job: TrainerThreadJob): Promise<void> {
  const post = (m: ThreadMessage) => parentPort!.postMessage(m);
  try {
    await runTrainer({
      coordinator: job.coordinator,
      backend: job.backend,
      blasThreads: job.blasThreads,
      name: job.name,
      connectTimeout: 60,
      security: { token: job.token, tls: null, insecure: false },
      keepalive: job.keepalive,
      thread: {
        sharedMemory: job.sharedMemory,
        effects: {
          kill: () => process.exit(KILLED), // in a worker thread: ends this thread only
          freeze,
        },
        onJoined: (worker) => post({ kind: 'joined', worker }),
      },
      log: (line) => post({ kind: 'log', line: `[${job.name}] ${line}` }),
    });
    post({ kind: 'finished' });
  } catch (err) {
    post({ kind: 'failed', message: describeError(err) });
  }
}

if (!isMainThread && (workerData as TrainerThreadJob | undefined)?.kind === 'shardlab-trainer-thread') {
  void threadMain(workerData as TrainerThreadJob);
}
