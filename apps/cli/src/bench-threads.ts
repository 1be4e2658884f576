import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SplitMix32 } from '@shardlab/data';
import { createModel, initBackend, initParams, setBlasThreads, type ModelSpec } from '@shardlab/model';

/*
 * Bench section 6: the ceiling the data plane leaves on these cores. W workers run as threads of one process;
 * each computes the native gradient of a fixed batch of its own, and the average goes through shared memory:
 * every thread writes its gradient into its slot of a SharedArrayBuffer, and after a barrier sums its 1/W of
 * the buffer for everyone, and after a second barrier applies the whole average to its own replica (plain SGD).
 * No gRPC, no coordinator, no metrics, no data pipeline: a harness, not a way shardlab runs. It measures how
 * much of a step the processes and messages of section 2 cost, the figure a decision about the data plane
 * (threads or in-process workers instead of a process per worker) needs.
 */

interface ThreadJob {
  kind: 'shared-memory-ceiling';
  rank: number;
  workers: number;
  spec: ModelSpec;
  batch: number;
  warmup: number;
  steps: number;
  gradients: SharedArrayBuffer;
  average: SharedArrayBuffer;
  barrier: SharedArrayBuffer;
}

interface ThreadTiming {
  ms: number;
  gradientMs: number;
  averageMs: number;
}

export interface SharedMemoryCeiling {
  samplesPerSecond: number;
  stepsPerSecond: number;
  /** Mean per thread and step: the gradient, and the average with its two barriers (waiting included). */
  gradientMs: number;
  averageMs: number;
}

/** `workers` threads, `warmup` untimed steps, then `steps` timed ones. Needs the native backend. */
export function sharedMemoryCeiling(spec: ModelSpec, batch: number, workers: number, warmup: number, steps: number): Promise<SharedMemoryCeiling> {
  const size = initParams(spec).length;
  const shared = {
    gradients: new SharedArrayBuffer(workers * size * 4),
    average: new SharedArrayBuffer(size * 4),
    barrier: new SharedArrayBuffer(8),
  };
  const runs = Array.from(
    { length: workers },
    (_, rank) =>
      new Promise<ThreadTiming>((resolve, reject) => {
        const job: ThreadJob = { kind: 'shared-memory-ceiling', rank, workers, spec, batch, warmup, steps, ...shared };
        const thread = new Worker(__filename, { workerData: job });
        thread.once('message', (timing: ThreadTiming) => {
          resolve(timing);
          void thread.terminate();
        });
        thread.once('error', reject);
        thread.once('exit', (code) => reject(new Error(`bench thread ${rank} exited with code ${code} before reporting`)));
      }),
  );
  return Promise.all(runs).then((timings) => {
    const ms = Math.max(...timings.map((t) => t.ms));
    const mean = (f: (t: ThreadTiming) => number) => timings.reduce((a, t) => a + f(t), 0) / timings.length;
    return { stepsPerSecond: (steps * 1000) / ms, samplesPerSecond: (steps * workers * batch * 1000) / ms, gradientMs: mean((t) => t.gradientMs), averageMs: mean((t) => t.averageMs) };
  });
}

/** A reusable barrier for `parties` threads over two int32s: arrivals, and the generation that has passed. */
function barrierOf(buffer: SharedArrayBuffer, parties: number): () => void {
  const cells = new Int32Array(buffer);
  let generation = 0;
  return () => {
    const mine = generation++;
    if (Atomics.add(cells, 0, 1) === parties - 1) {
      Atomics.store(cells, 0, 0);
      Atomics.store(cells, 1, mine + 1);
      Atomics.notify(cells, 1);
    } else {
      while (Atomics.load(cells, 1) <= mine) Atomics.wait(cells, 1, mine);
    }
  };
}

async function threadMain(job: ThreadJob): Promise<ThreadTiming> {
  await initBackend('native');
  setBlasThreads(1);
  const { rank, workers, spec, batch } = job;
  const model = await createModel(spec);
  const params = initParams(spec);
  const size = params.length;
  // A fixed batch of its own per worker, as the DDP anchor trains on one fixed batch.
  const rand = new SplitMix32(12345 + rank);
  const features = Float32Array.from({ length: batch * spec.inputSize }, () => rand.nextFloat());
  const labels = Int32Array.from({ length: batch }, () => rand.nextInt(spec.classes));
  const gradients = new Float32Array(job.gradients);
  const average = new Float32Array(job.average);
  const barrier = barrierOf(job.barrier, workers);
  const lo = Math.floor((rank * size) / workers);
  const hi = Math.floor(((rank + 1) * size) / workers);
  let gradientMs = 0;
  let averageMs = 0;
  let started = 0;
  for (let s = 0; s < job.warmup + job.steps; s++) {
    if (s === job.warmup) {
      started = performance.now();
      gradientMs = 0;
      averageMs = 0;
    }
    const t0 = performance.now();
    model.setParams(params);
    const { gradient } = model.gradient(features, labels, batch);
    const t1 = performance.now();
    gradients.set(gradient, rank * size);
    barrier();
    for (let i = lo; i < hi; i++) {
      let sum = 0;
      for (let k = 0; k < workers; k++) sum += gradients[k * size + i]!;
      average[i] = sum / workers;
    }
    barrier();
    for (let i = 0; i < size; i++) params[i] = params[i]! - 0.01 * average[i]!;
    const t2 = performance.now();
    gradientMs += t1 - t0;
    averageMs += t2 - t1;
  }
  model.dispose();
  return { ms: performance.now() - started, gradientMs: gradientMs / job.steps, averageMs: averageMs / job.steps };
}

if (!isMainThread && (workerData as ThreadJob | undefined)?.kind === 'shared-memory-ceiling') {
  void threadMain(workerData as ThreadJob).then((timing) => parentPort!.postMessage(timing));
}
