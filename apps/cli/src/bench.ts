import * as grpc from '@grpc/grpc-js';
import { memberAttacks } from './bench-attacks';
import { IMPORT_CSV_ROWS, importThroughput, ownDataEndToEnd } from './bench-import';
import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { isPowerOfTwo } from '@shardlab/collective';
import { NPY_MANIFEST, SplitMix32, createStrategy, fashionMnistAvailable, loadDataset, npyHeader } from '@shardlab/data';
import { join } from 'node:path';
import { FlagError, formatOptionHelp, parseFlags, resolveConfig, resolveOptions, type OptionSpec } from '@shardlab/experiment';
import { BackendError, initBackend, initParams, layersSpec, loadLayersSource, paramCount, saveLayersModel, timeGradientStep, type BackendName, type ModelSpec } from '@shardlab/model';
import { CHANNEL_OPTIONS, SERVER_OPTIONS, encodeTensor, loadCoordinatorService, type CoordinatorClient } from '@shardlab/protocol';
import { formatTable, parseMetrics, type RunSummary, type StepPoint } from '@shardlab/report';
import { DashboardHub, startDashboard } from '@shardlab/dashboard';
import { request } from 'node:http';
import { runEmbedded } from './embedded';
import { sharedMemoryCeiling } from './bench-threads';

const BENCH_OPTIONS: readonly OptionSpec[] = [
  { key: 'steps', type: 'int', default: 800, min: 510, max: 100_000, help: 'steps per end-to-end run (timed after the first 500, while V8 warms up)' },
  { key: 'iterations', type: 'int', default: 30, min: 3, max: 100_000, help: 'CNN gradient steps per timed round (MLP rounds are 300 steps; the median of 5 rounds is shown)' },
  { key: 'messages', type: 'int', default: 200, min: 10, max: 100_000, help: 'gradient messages per transport measurement' },
  { key: 'workerCounts', type: 'int-list', default: [1, 2, 4, 8], min: 1, max: 64, help: 'trainer counts for the end-to-end runs' },
  { key: 'backends', type: 'string', default: 'native', valueHint: 'A,B,..', help: 'trainer backends for the end-to-end runs (unavailable ones fall back to wasm)' },
  { key: 'collectives', type: 'string', default: 'relay,ring,halving-doubling,shared-memory', valueHint: 'A,B,..', help: 'collectives for the end-to-end runs (halving-doubling only where the trainer count is a power of two; shared-memory: the trainers as threads, --runtime threads)' },
  { key: 'dashboardSteps', type: 'int', default: 300, min: 0, max: 100_000, help: 'steps per run of the dashboard measurement (0: skip it)' },
  { key: 'threadSteps', type: 'int', default: 500, min: 0, max: 100_000, help: 'timed steps of the shared-memory harness, after 300 untimed ones (0: skip it)' },
  { key: 'localSteps', type: 'int', default: 1000, min: 0, max: 100_000, help: 'local steps per FedAvg round of the event-loop measurement (0: skip it)' },
  { key: 'ownDataSteps', type: 'int', default: 1500, min: 0, max: 100_000, help: 'section 10: steps of 4 trainers on a .npy copy of the synthetic set and on the set itself (0: skip it)' },
  { key: 'imports', type: 'bool', default: true, help: 'section 9: shardlab data import throughput, CSV and PNG images (--imports=false: skip it)' },
  { key: 'attacks', type: 'bool', default: true, help: 'section 8: what one member can make the coordinator hold at 5.8M and 10M parameters (--attacks=false: skip it)' },
];

export const BENCH_USAGE = `Usage: shardlab bench [options]

Figures for the reference MLP 784-128-64-4 at batch 128 (no pass/fail):
  1. trainer gradient step time and samples/s per TensorFlow.js backend (MLP; the same MLP loaded as a
     TensorFlow.js Layers model, --model layers:DIR; CNN at batch 32);
  2. end-to-end samples/s of synchronous training with 1, 2, 4 and 8 trainers: processes under relay, ring
     and halving-doubling (and the previous path: relay with shipped features), and threads averaging through
     shared memory (--runtime threads); the compute-only bound on this
     machine's cores and the fraction of it reached, the share of a step not spent computing
     gradients, and the bytes a trainer moves per step;
  3. gradient bytes/s over gRPC beside a raw TCP socket on the same machine;
  4. data: loading 10M synthetic samples, generating a batch (synthetic, and deformed Fashion-MNIST beside
     a native gradient step), reading one from .npy files (npy:<dir>), a batch plan far into a run;
  5. steps/s of a 4-trainer run with and without the live dashboard (a watcher connected);
  6. a harness, not a shardlab mode: the same workers as threads of one process averaging through
     shared memory (no gRPC, no coordinator), the ceiling the data plane leaves on these cores;
  7. the longest event-loop delay of the coordinator and each trainer over FedAvg rounds of long
     local work (a loop held past the keepalive timeout drops connections; section 2 shows it too);
  8. what one member holding the token and its slots can make the coordinator hold, at 5.8M and 10M
     parameters: every in-step reduction it may send, and a push whose tensor shape is a packed bomb.
Absolute figures vary 2-3x between machines: run PyTorch DDP beside it on the same machine
(bash ../shared/anchors/ddp-anchor.sh) and compare ratios.

Options:
${formatOptionHelp(BENCH_OPTIONS)}
  -h, --help`;

const REFERENCE: ModelSpec = { kind: 'mlp', inputSize: 784, hidden: [128, 64], classes: 4, initSeed: 1 };
/** Two 5x5 conv stages (8, 16 filters) with 2x2 max-pool, then the output layer. */
const CNN: ModelSpec = { kind: 'cnn', inputSize: 784, hidden: [], classes: 4, initSeed: 1 };
const BATCH = 128;
const CNN_BATCH = 32;

interface StepFigures {
  rows: string[][];
  /** MLP ms per step, by backend, for the compute-only bound of section 2. */
  mlpMs: Map<BackendName, number>;
}

async function stepTimes(iterations: number): Promise<StepFigures> {
  const rows: string[][] = [];
  const mlpMs = new Map<BackendName, number>();
  const cnnMs = new Map<BackendName, number>();
  // The built-in MLP saved as a TensorFlow.js Layers model and loaded back: the same network trained by autodiff.
  const layersDir = mkdtempSync(join(tmpdir(), 'shardlab-bench-layers-'));
  await initBackend('cpu');
  await saveLayersModel(REFERENCE, initParams(REFERENCE), layersDir);
  const loaded = layersSpec(await loadLayersSource(layersDir), REFERENCE.initSeed);
  rmSync(layersDir, { recursive: true, force: true });
  // Steady state: V8 optimizes the JS kernels only after some hundred calls (90 steps after 10 warm-up
  // steps measured 2.7 ms on native, 1000 after 100 measured 1.16 ms). Then rounds of 300 steps, the
  // length of PyTorch's anchor window, and the median round: our VMs have slow phases of a second or two
  // (the same code 20-40% slower), which one long mean would mix in and a median of short rounds does not.
  const median = async (spec: ModelSpec, batch: number, iters: number, rounds: number, warmup: number): Promise<{ ms: number; fastest: number }> => {
    await timeGradientStep(spec, batch, Math.max(1, Math.min(warmup, 100)), { warmup });
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) times.push((await timeGradientStep(spec, batch, iters, { warmup: 0 })).msPerStep);
    times.sort((a, b) => a - b);
    return { ms: times[Math.floor(rounds / 2)]!, fastest: times[0]! };
  };
  for (const backend of ['tensorflow', 'native', 'wasm', 'cpu'] as BackendName[]) {
    try {
      await initBackend(backend);
    } catch (err) {
      rows.push([backend, 'MLP / CNN', 'unavailable', '-', err instanceof BackendError ? err.message : String(err)]);
      continue;
    }
    const iters = backend === 'cpu' ? Math.max(3, Math.ceil(iterations / 3)) : 300;
    const rounds = backend === 'cpu' ? 1 : 5;
    const how = (t: { fastest: number }, n: number) => (rounds > 1 ? `median of ${rounds} x ${n} steps (fastest ${t.fastest.toFixed(2)})` : `${n} steps`);
    const t = await median(REFERENCE, BATCH, iters, rounds, backend === 'cpu' ? 1 : 100);
    mlpMs.set(backend, t.ms);
    rows.push([backend, `MLP 784-128-64-4, batch ${BATCH}`, t.ms.toFixed(2), ((BATCH * 1000) / t.ms).toFixed(0), how(t, iters)]);
    const l = await median(loaded, BATCH, iters, rounds, backend === 'cpu' ? 1 : 100);
    rows.push([backend, `the same MLP loaded as a Layers model, batch ${BATCH}`, l.ms.toFixed(2), ((BATCH * 1000) / l.ms).toFixed(0), `${how(l, iters)}; ${(l.ms / t.ms).toFixed(2)}x the built-in${backend === 'native' ? ' (target <= 1.5x)' : ''}`]);
    // A CNN step on cpu takes seconds: time few.
    const cnnIters = backend === 'cpu' ? 2 : iterations;
    const c = await median(CNN, CNN_BATCH, cnnIters, rounds, backend === 'cpu' ? 0 : 20);
    cnnMs.set(backend, c.ms);
    rows.push([backend, `CNN 5x5x8, 5x5x16, batch ${CNN_BATCH}`, c.ms.toFixed(2), ((CNN_BATCH * 1000) / c.ms).toFixed(0), how(c, cnnIters)]);
  }
  const speedUp = (a: BackendName, b: BackendName, ms: Map<BackendName, number>, what: string, note: string) => {
    const x = ms.get(a);
    const y = ms.get(b);
    if (x && y) rows.push([`${a} vs ${b}`, `${what} speed-up`, (y / x).toFixed(y / x >= 10 ? 0 : 2) + 'x', '-', note]);
  };
  speedUp('native', 'wasm', mlpMs, 'MLP', 'OpenBLAS sgemm vs XNNPACK');
  speedUp('native', 'wasm', cnnMs, 'CNN', 'direct AVX2 conv vs XNNPACK conv');
  speedUp('wasm', 'cpu', cnnMs, 'CNN', 'wasm has our Conv2DBackpropFilter kernel');
  return { rows, mlpMs };
}

/**
 * Payload bytes one trainer sends plus receives per step (protobuf framing aside), by the protocol: relay sends
 * the gradient and receives the average (plus the batch under feed features); a ring moves 2 (W-1)/W of the
 * buffer (gradient + weight) each way, and so does halving-doubling (in fewer, larger messages). Sample ids (4 bytes each) travel under feed ids.
 */
function bytesPerStep(collective: string, feed: string, workers: number, params: number, features: number): number {
  const batch = feed === 'features' ? BATCH * features * 4 + BATCH * 4 : BATCH * 4;
  if (collective === 'relay') return 2 * params * 4 + batch;
  if (collective === 'shared-memory') return batch; // the gradient is written to shared memory, not sent
  return 2 * ((2 * (workers - 1)) / workers) * (params + 1) * 4 + batch;
}

/**
 * Steps left out at the start of a run when timing it, like the anchor's 30 but longer, because a JIT warms up
 * slowly under load: connections, the synthetic rows every trainer generates once (26 us a row) and keeps (see
 * END_TO_END_SAMPLES), and above all V8's optimizing compiler, which reaches the gRPC and ring code only after
 * some hundred steps. Measured at 4 trainers on 2 cores: ~60 steps/s over steps 50-100, ~75 at 200-300, a plateau
 * of 90-110 from step ~500; a bare gRPC ring of processes around a busy loop ramps the same way (50 -> 130 steps/s
 * over 600 steps), and stays flat at 54 with V8's optimizer off (--no-opt). The ramp is shown apart (steps/s over
 * EARLY_STEPS, the window timed before); the steady rate is what a run of thousands of steps gets.
 */
const WARMUP_STEPS = 500;
/** The window the early rate is timed over: the anchor's (30 warm-up, 300 timed), shifted to after the connections. */
const EARLY_STEPS: [number, number] = [50, 350];

/**
 * The end-to-end runs' training set: small enough that every trainer has generated and kept its rows within the
 * warm-up (4096 rows, drawn 128-512 a step), so the timed steps measure the data plane and not the synthetic
 * generator, the way the anchor trains on one fixed random batch. (With 20,000 samples a trainer is still
 * generating rows 300 steps in: iid batches draw from the whole set, and 4 trainers at 4 x 128 a step reached
 * their steady rate only after ~450 steps.)
 */
const END_TO_END_SAMPLES = 4096;

/** Steps per second from step `first` to step `last` (clamped to the run), from a run's metrics.jsonl (the engine's own step times). */
function stepsPerSecondBetween(steps: readonly StepPoint[], first: number, last: number): number {
  const from = steps[Math.min(first, steps.length - 2)]!;
  const to = steps[Math.min(last, steps.length - 1)]!;
  return (to.step - from.step) / (to.elapsedSeconds - from.elapsedSeconds);
}

async function endToEnd(steps: number, counts: number[], backends: string[], collectives: string[], mlpMs: Map<BackendName, number>): Promise<string[][]> {
  const rows: string[][] = [];
  const cores = availableParallelism();
  const params = paramCount(REFERENCE);
  // The previous data path (the coordinator ships features and relays) first, as the baseline.
  const arms = [{ collective: 'relay', feed: 'features' }, ...collectives.map((collective) => ({ collective, feed: 'ids' }))];
  for (const requested of backends as BackendName[]) {
    const backend: BackendName = mlpMs.has(requested) ? requested : 'wasm';
    const stepMs = mlpMs.get(backend)!;
    for (const { collective, feed } of arms) {
      for (const workers of counts) {
        if (collective === 'halving-doubling' && !isPowerOfTwo(workers)) continue;
        const out = mkdtempSync(join(tmpdir(), 'shardlab-bench-'));
        try {
          // Gradient cosines only at step 0: among trainers every gradient-metrics step ships full gradients.
          const runtime = collective === 'shared-memory' ? 'threads' : 'processes';
          const config = resolveConfig({ strategy: 'iid', workers, batchSize: BATCH, steps, evalEvery: steps, gradientMetricsEvery: steps, samples: END_TO_END_SAMPLES, testSamples: 500, backend, collective, feed, runtime });
          const { summary } = await runEmbedded(config, { out, port: 0, quiet: true });
          if (summary.status !== 'completed') throw new Error(summary.error ?? 'run failed');
          const { steps: records } = parseMetrics(readFileSync(join(out, 'metrics.jsonl'), 'utf8'));
          const stepsPerSecond = stepsPerSecondBetween(records, WARMUP_STEPS, records.length - 1);
          const earlyStepsPerSecond = stepsPerSecondBetween(records, ...EARLY_STEPS);
          const samplesPerSecond = workers * BATCH * stepsPerSecond;
          // Compute only: every trainer busy computing gradients, the processes spread over the cores.
          const bound = (BATCH * Math.min(workers, cores) * 1000) / stepMs;
          rows.push([
            backend,
            collective,
            feed,
            String(workers),
            earlyStepsPerSecond.toFixed(1),
            stepsPerSecond.toFixed(1),
            samplesPerSecond.toFixed(0),
            bound.toFixed(0),
            (100 * (samplesPerSecond / bound)).toFixed(0) + '%',
            summary.communicationShare === null ? '-' : (100 * summary.communicationShare).toFixed(0) + '%',
            (bytesPerStep(collective, feed, workers, params, REFERENCE.inputSize) / 1e6).toFixed(2),
            loopDelays(summary),
          ]);
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      }
    }
  }
  return rows;
}

/** The longest event-loop delays of a run, "coordinator / worst trainer" in ms (summary.json's eventLoopDelayMs). */
function loopDelays(summary: RunSummary): string {
  const d = summary.eventLoopDelayMs;
  return d ? `${d.coordinator.toFixed(0)} / ${Math.max(0, ...d.workers).toFixed(0)}` : '-';
}

/**
 * Section 7: FedAvg rounds of long local work, the case that once dropped connections (issue 20): every process's
 * longest event-loop delay, which must stay far below the keepalive timeout whatever a round lasts.
 */
async function longRounds(backend: BackendName, localSteps: number): Promise<string[][]> {
  const out = mkdtempSync(join(tmpdir(), 'shardlab-bench-'));
  try {
    const config = resolveConfig({ strategy: 'iid', workers: 4, batchSize: BATCH, steps: 3, evalEvery: 1, aggregation: 'fedavg', localSteps, samples: END_TO_END_SAMPLES, testSamples: 2000, backend });
    const { summary } = await runEmbedded(config, { out, port: 0, quiet: true });
    if (summary.status !== 'completed') throw new Error(summary.error ?? 'run failed');
    const d = summary.eventLoopDelayMs!;
    return [[backend, String(localSteps), (summary.wallSeconds / 3).toFixed(1), d.coordinator.toFixed(0), d.workers.map((ms) => ms.toFixed(0)).join(', '), String(config.keepaliveTimeout * 1000)]];
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Section 4: what the data layer costs (formerly timed in unit tests, where timings do not belong). */
function dataTimes(nativeStepMs: number | undefined): string[][] {
  const time = <T>(f: () => T): [T, number] => {
    const t0 = performance.now();
    const r = f();
    return [r, performance.now() - t0];
  };
  const ids = Array.from({ length: BATCH }, (_, i) => 1000 + i);
  /** ms per batch of generated rows, over 50 fresh batches (ids never asked before, so nothing is cached). */
  const batchTime = (ds: { features(ids: number[]): Float32Array }, first: number): number => {
    ds.features(ids);
    const [, ms] = time(() => {
      for (let r = 0; r < 50; r++) ds.features(ids.map((id) => (first + r * 100_003 + id * 7) % 10_000_000));
    });
    return ms / 50;
  };
  const ofStep = (ms: number) => (nativeStepMs === undefined ? '' : `, ${(ms / nativeStepMs).toFixed(1)}x a native MLP step (${nativeStepMs.toFixed(2)} ms)`);
  const [{ train }, loadMs] = time(() => loadDataset({ dataset: 'synthetic', seed: 42, samples: 10_000_000 }));
  const syntheticMs = batchTime(train, 0);
  const rows = [
    ['synthetic, 10M samples', 'load (labels only)', loadMs.toFixed(0) + ' ms'],
    ['synthetic', `features of a ${BATCH} x 784 batch (generated)`, syntheticMs.toFixed(2) + ' ms' + ofStep(syntheticMs)],
  ];
  if (fashionMnistAvailable()) {
    const [deformed, deformedLoadMs] = time(() => loadDataset({ dataset: 'fashion-mnist-deformed', classes: [0, 1, 2, 3], seed: 42, samples: 10_000_000 }).train);
    const deformedMs = batchTime(deformed, 0);
    rows.push(
      ['fashion-mnist-deformed, 10M samples of classes 0-3', 'load (base images, labels, field bank)', deformedLoadMs.toFixed(0) + ' ms'],
      ['fashion-mnist-deformed', `features of a ${BATCH} x 784 batch (deformed)`, deformedMs.toFixed(2) + ' ms' + ofStep(deformedMs)],
    );
  }
  rows.push(...npyTimes(batchTime, ofStep));
  for (const name of ['iid', 'label-per-node', 'dirichlet'] as const) {
    const s = createStrategy(name, { labels: train.labels, numClasses: 4, workers: 4, batchSize: BATCH, seed: 1 });
    const [, firstMs] = time(() => s.batch(100_000, 0));
    const [, nextMs] = time(() => {
      for (let t = 100_001; t < 100_051; t++) for (let w = 0; w < 4; w++) s.batch(t, w);
    });
    rows.push([`${name}, 10M samples, 4 workers`, 'step 100000 (first, then 200 more batches)', `${firstMs.toFixed(0)} ms, then ${(nextMs / 200).toFixed(3)} ms/batch`]);
  }
  return rows;
}

/** Rows of NPY_ROWS x 784 written for the npy figures: 78 MB of uint8, 314 MB of float32. */
const NPY_ROWS = 100_000;

/**
 * Section 4's `.npy` figures: a batch of 128 random rows read by positional reads from a dataset directory in the
 * page cache (just written), uint8 and float32; then cold, from disk: before each of COLD_BATCHES batches the
 * feature file's own pages are evicted (posix_fadvise DONTNEED on that file, through Python's os module: Node has
 * no fadvise), not the machine's page cache.
 */
function npyTimes(batchTime: (ds: { features(ids: number[]): Float32Array }, first: number) => number, ofStep: (ms: number) => string): string[][] {
  const rows: string[][] = [];
  for (const [descr, bytes] of [['|u1', 1], ['<f4', 4]] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'shardlab-bench-npy-'));
    try {
      const write = (file: string, shape: number[], rowBytes: number, fill: (row: Uint8Array, i: number) => void) => {
        const fd = openSync(join(dir, file), 'w');
        writeSync(fd, npyHeader(file.endsWith('y.npy') ? '|u1' : descr, shape));
        const chunk = new Uint8Array(rowBytes * 1000);
        for (let first = 0; first < shape[0]!; first += 1000) {
          for (let i = 0; i < 1000; i++) fill(chunk.subarray(i * rowBytes, (i + 1) * rowBytes), first + i);
          writeSync(fd, chunk, 0, Math.min(1000, shape[0]! - first) * rowBytes);
        }
        // On disk before it is evicted: fadvise drops clean pages only.
        fsyncSync(fd);
        closeSync(fd);
      };
      const rand = new SplitMix32(7);
      write('x.npy', [NPY_ROWS, 784], 784 * bytes, (row) => row.forEach((_, j) => (row[j] = rand.nextInt(bytes === 1 ? 256 : 64))));
      write('y.npy', [NPY_ROWS], 1, (row, i) => (row[0] = i % 4));
      write('tx.npy', [1000, 784], 784 * bytes, () => undefined);
      write('ty.npy', [1000], 1, (row, i) => (row[0] = i % 4));
      writeFileSync(join(dir, NPY_MANIFEST), JSON.stringify({ classes: ['a', 'b', 'c', 'd'], train: { features: 'x.npy', labels: 'y.npy' }, test: { features: 'tx.npy', labels: 'ty.npy' } }));
      const { train } = loadDataset({ dataset: `npy:${dir}`, seed: 1 });
      const ms = batchTime({ features: (ids) => train.features(ids.map((id) => id % NPY_ROWS)) }, 0);
      const what = `npy:<dir>, ${NPY_ROWS} x 784 ${bytes === 1 ? 'uint8' : 'float32'}`;
      rows.push([what, `features of a ${BATCH} x 784 batch (page cache)`, ms.toFixed(2) + ' ms' + ofStep(ms)]);
      const cold = coldBatchMs(join(dir, 'x.npy'), (ids) => train.features(ids));
      rows.push([what, `features of a ${BATCH} x 784 batch (cold: the file's pages evicted before each of ${COLD_BATCHES})`, typeof cold === 'string' ? cold : `${cold.median.toFixed(2)} ms median (${cold.min.toFixed(2)}-${cold.max.toFixed(2)})`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

/** Cold batches timed by npyTimes. */
const COLD_BATCHES = 20;

/**
 * The median, fastest and slowest time of a batch of BATCH random rows read right after `file`'s pages were evicted
 * from the page cache; a sentence instead where eviction is not possible (no Python, a file system without it).
 */
function coldBatchMs(file: string, read: (ids: number[]) => Float32Array): { median: number; min: number; max: number } | string {
  const evict = () =>
    spawnSync(process.env['SHARDLAB_BENCH_PYTHON'] ?? '/usr/bin/python3', ['-c', 'import os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY)\nos.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)', file], { encoding: 'utf8' });
  const rand = new SplitMix32(11);
  const times: number[] = [];
  for (let b = 0; b < COLD_BATCHES; b++) {
    const evicted = evict();
    if (evicted.status !== 0) return `not timed: cannot evict the file's pages (${(evicted.error?.message ?? evicted.stderr).trim().split('\n').at(-1)})`;
    const ids = Array.from({ length: BATCH }, () => rand.nextInt(NPY_ROWS));
    const started = performance.now();
    read(ids);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, min: times[0]!, max: times[times.length - 1]! };
}

/** Sequential request/ack round trips of one gradient over gRPC (our PushGradient). */
async function grpcThroughput(payload: Float32Array, messages: number): Promise<number> {
  const { Coordinator, service } = loadCoordinatorService();
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(service, {
    Join: (_c: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED }),
    NextStep: (_c: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED }),
    GetStatus: (_c: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED }),
    PushGradient: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {}),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const client: CoordinatorClient = new Coordinator(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const msg = { runId: 'bench', worker: 0, step: 0, samples: BATCH, loss: 0, gradient: encodeTensor(payload, [payload.length]), paramChecksum: '', computeMs: 0 };
  const send = () => new Promise<void>((resolve, reject) => client.pushGradient(msg, (e) => (e ? reject(e) : resolve())));
  try {
    for (let i = 0; i < 10; i++) await send();
    const t0 = performance.now();
    for (let i = 0; i < messages; i++) await send();
    return (messages * payload.byteLength) / ((performance.now() - t0) / 1000);
  } finally {
    client.close();
    server.forceShutdown();
  }
}

/** The same round trips over a plain TCP socket: 4-byte length + payload, 1-byte ack. */
async function tcpThroughput(payload: Float32Array, messages: number): Promise<number> {
  const server = createServer((sock) => {
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32LE(0)) {
        pending = pending.subarray(4 + pending.readUInt32LE(0));
        sock.write(Buffer.from([1]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => sock.once('connect', resolve));
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const header = Buffer.alloc(4);
  header.writeUInt32LE(bytes.length);
  let ack: (() => void) | null = null;
  sock.on('data', (d) => {
    for (let i = 0; i < d.length; i++) ack?.();
  });
  const send = () =>
    new Promise<void>((resolve) => {
      ack = resolve;
      sock.write(header);
      sock.write(bytes);
    });
  try {
    for (let i = 0; i < 10; i++) await send();
    const t0 = performance.now();
    for (let i = 0; i < messages; i++) await send();
    return (messages * bytes.length) / ((performance.now() - t0) / 1000);
  } finally {
    sock.destroy();
    server.close();
  }
}

/**
 * Section 5: the same 4-trainer run without and with the live dashboard, a watcher reading its event
 * stream, alternated (without, with, without, with) so that drift in the machine's load hits both.
 */
async function dashboardCost(steps: number, backend: BackendName): Promise<string[][]> {
  const config = resolveConfig({ strategy: 'iid', workers: 4, batchSize: BATCH, steps, evalEvery: 50, samples: 20000, testSamples: 500, backend });
  const rates: Record<'without' | 'with', number[]> = { without: [], with: [] };
  let eventBytes = 0;
  for (const mode of ['without', 'with', 'without', 'with'] as const) {
    const out = mkdtempSync(join(tmpdir(), 'shardlab-bench-'));
    const hub = mode === 'with' ? new DashboardHub('bench', 'bench') : null;
    const dashboard = hub ? await startDashboard({ hub, port: 0 }) : null;
    const watcher = dashboard
      ? request(dashboard.url.replace('/?', '/events?'), (res) => res.on('data', (d: Buffer) => (eventBytes += d.length))).end()
      : null;
    try {
      const { summary } = await runEmbedded(config, { out, port: 0, quiet: true, observer: hub?.observer('bench', 'iid', 1) });
      if (summary.status !== 'completed') throw new Error(summary.error ?? 'run failed');
      rates[mode].push(summary.stepsPerSecond);
    } finally {
      watcher?.destroy();
      await dashboard?.close();
      rmSync(out, { recursive: true, force: true });
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [
    ['without the dashboard', rates.without.map((r) => r.toFixed(1)).join(', '), mean(rates.without).toFixed(1), '-'],
    ['with it, one watcher', rates.with.map((r) => r.toFixed(1)).join(', '), mean(rates.with).toFixed(1), `${(100 * (mean(rates.with) / mean(rates.without))).toFixed(0)}% (${(eventBytes / 2 / 1e3).toFixed(0)} kB streamed per run)`],
  ];
}

const mb = (bytesPerSecond: number) => (bytesPerSecond / 1e6).toFixed(0);

export async function benchCommand(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, BENCH_OPTIONS);
  if (flags.help) {
    process.stdout.write(BENCH_USAGE + '\n');
    return 0;
  }
  if (flags.positionals.length) throw new FlagError(`unexpected argument ${flags.positionals[0]}`);
  const o = resolveOptions(flags.values, BENCH_OPTIONS);
  const say = (s: string) => process.stdout.write(s + '\n');
  const params = paramCount(REFERENCE);
  say(`shardlab bench: MLP 784-128-64-4 (${params} parameters, ${((params * 4) / 1e6).toFixed(2)} MB of gradient), batch ${BATCH}\n`);

  say('1. Trainer gradient step (forward + backward), per backend, one thread');
  const steps = await stepTimes(o.iterations as number);
  say(formatTable(['backend', 'model', 'ms/step', 'samples/s', 'note'], steps.rows) + '\n');

  const backends = String(o.backends).split(',').map((b) => b.trim()).filter(Boolean);
  say(`2. End-to-end synchronous training (iid, synthetic ${END_TO_END_SAMPLES} samples, ${(o.steps as number) - WARMUP_STEPS} steps timed after the first ${WARMUP_STEPS}, trainers as processes on 127.0.0.1, or as threads under shared-memory, ${availableParallelism()} cores)`);
  const collectives = String(o.collectives).split(',').map((b) => b.trim()).filter(Boolean);
  say(formatTable(['backend', 'collective', 'feed', 'trainers', `steps/s ${EARLY_STEPS.join('-')}`, 'steps/s', 'samples/s', 'compute-only bound', 'of bound', 'non-compute share', 'MB/step/trainer', 'loop delay ms'], await endToEnd(o.steps as number, o.workerCounts as number[], backends, collectives, steps.mlpMs)));
  say('compute-only bound: batch x min(trainers, cores) / the single-step time of section 1 (all cores computing, nothing else).');
  say('non-compute share: 1 - mean trainer gradient time / step wall time (transport, batch building, averaging, waiting).');
  say('MB/step/trainer: payload a trainer sends + receives per step by the protocol (relay + features is the previous data path).');
  say('loop delay ms: the longest event-loop delay of the coordinator / the worst trainer (summary.json eventLoopDelayMs).');
  say('PyTorch DDP on this machine: bash ../shared/anchors/ddp-anchor.sh (compare its "ddp_gloo world 4" samplesPerSec_global).\n');

  const payload = new Float32Array(params).map((_, i) => Math.sin(i));
  const messages = o.messages as number;
  const g = await grpcThroughput(payload, messages);
  const t = await tcpThroughput(payload, messages);
  say(`3. Gradient transport, ${messages} sequential request/ack round trips of ${((params * 4) / 1e6).toFixed(2)} MB on 127.0.0.1`);
  say(formatTable(['transport', 'MB/s', 'ms/message'], [
    ['gRPC (PushGradient, bytes field)', mb(g), ((payload.byteLength / g) * 1000).toFixed(2)],
    ['raw TCP socket', mb(t), ((payload.byteLength / t) * 1000).toFixed(2)],
  ]) + '\n');

  say('4. Data layer');
  say(formatTable(['data', 'operation', 'time'], dataTimes(steps.mlpMs.get('native'))) + '\n');

  const dashboardSteps = o.dashboardSteps as number;
  if (dashboardSteps > 0) {
    const backend: BackendName = steps.mlpMs.has('native') ? 'native' : 'wasm';
    say(`5. Live dashboard cost: 4 trainers (${backend}), ${dashboardSteps} steps, run twice each way`);
    say(formatTable(['run', 'steps/s per run', 'mean steps/s', 'of without'], await dashboardCost(dashboardSteps, backend)) + '\n');
  }

  const threadSteps = o.threadSteps as number;
  const nativeMs = steps.mlpMs.get('native');
  if (threadSteps > 0 && nativeMs !== undefined) {
    say(`6. Ceiling without processes or messages: W workers as threads of one process (native, one BLAS thread each), a fixed batch each, averaging through shared memory, ${threadSteps} steps timed after 300`);
    const cores = availableParallelism();
    const rows: string[][] = [];
    for (const workers of o.workerCounts as number[]) {
      const c = await sharedMemoryCeiling(REFERENCE, BATCH, workers, 300, threadSteps);
      const bound = (BATCH * Math.min(workers, cores) * 1000) / nativeMs;
      rows.push([String(workers), c.stepsPerSecond.toFixed(1), c.samplesPerSecond.toFixed(0), bound.toFixed(0), (100 * (c.samplesPerSecond / bound)).toFixed(0) + '%', c.gradientMs.toFixed(2), c.averageMs.toFixed(2)]);
    }
    say(formatTable(['workers', 'steps/s', 'samples/s', 'compute-only bound', 'of bound', 'gradient ms', 'average + barriers ms'], rows));
    say('A harness, not a way shardlab runs: no coordinator, metrics, data or checks. Beside section 2 it shows what a process per worker and gRPC between them cost.\n');
  }

  const localSteps = o.localSteps as number;
  if (localSteps > 0) {
    const backend: BackendName = steps.mlpMs.has('native') ? 'native' : 'wasm';
    say(`7. Event loop under long local work: FedAvg, 4 trainers, 3 rounds of ${localSteps} local steps each (evaluation every round)`);
    say(formatTable(['backend', 'local steps', 's/round', 'coordinator max delay ms', 'trainers max delay ms', 'keepalive timeout ms'], await longRounds(backend, localSteps)));
    say('A connection drops when a process holds its event loop past the keepalive timeout; long work yields every 50 ms (libs/protocol event-loop.ts).\n');
  }

  if (o.attacks) {
    say('8. One member against the coordinator, at 5.8M and 10M parameters (MLP 784-H-4, relay): how it is stopped, and the coordinator\'s peak RSS above its RSS at step 0');
    say(formatTable(['parameters', 'attack', 'stopped by', 's to refusal', 'peak MiB above'], await memberAttacks()));
    say('s to refusal: from the first request, including 3 s spent on each accepted reduction (it waits for a worker that never sends) and the client encoding 8 MB requests.');
    say('Before the byte budget (2026-12-07, issue 25): 64 reductions of a 5.8M vector took the coordinator to 4.7-5.2 GB; at 10M, 65 killed it.');
  }
  if (o.imports) {
    say(`9. Importing data (shardlab data import), from sources in the page cache`);
    say(formatTable(['source', 's', 'rows/s'], await importThroughput()));
    say(`rows/s: samples written to the dataset directory a second, parsing (${IMPORT_CSV_ROWS} rows of csv-parse) or decoding (sharp) included.\n`);
  }

  const ownDataSteps = o.ownDataSteps as number;
  if (ownDataSteps > 0 && ownDataSteps < WARMUP_STEPS + 10) throw new FlagError(`--own-data-steps: ${ownDataSteps} leaves nothing to time after the first ${WARMUP_STEPS} steps; at least ${WARMUP_STEPS + 10}, or 0 to skip`);
  if (ownDataSteps > 0) {
    say(`10. Your own data end to end: 4 trainers (iid, batch ${BATCH}, ${ownDataSteps - WARMUP_STEPS} steps timed after the first ${WARMUP_STEPS}) on the synthetic set, then on a .npy copy of it read by sample id (page cache)`);
    say(formatTable(['data', 'collective', 'samples/s', 'of synthetic'], await ownDataEndToEnd(END_TO_END_SAMPLES * 4, BATCH, ownDataSteps, WARMUP_STEPS)) + '\n');
  }

  return 0;
}
