import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, flagOf } from '@shardlab/options';
import { writingTo } from '@shardlab/report';
import { EXPERIMENT_OPTIONS, resolveConfig, type ExperimentConfig } from './config';

/**
 * A run's state between two steps, enough to continue it bit for bit: the parameters and optimizer state
 * (the coordinator's replica, which every trainer's equals), worker 0's buffers (BatchNorm running
 * statistics), the next step, and how much of metrics.jsonl belongs to the steps before it. The batch plan
 * needs no state of its own: every strategy is a pure function of (seed, step, worker).
 */
export interface Checkpoint {
  /** Steps completed: the run continues with this step. */
  step: number;
  /** Byte length of metrics.jsonl when the checkpoint was taken (what follows is cut on resume). */
  metricsBytes: number;
  params: Float32Array;
  optimizerState: Float64Array;
  buffers: Float32Array | null;
}

export const CHECKPOINT_FILE = 'checkpoint.bin';
const MAGIC = Buffer.from('SHARDLAB-CKPT-1\n');

/**
 * Writes `<dir>/checkpoint.bin` atomically: to a temporary file, fsync, then rename over the old one, so a
 * kill at any moment leaves either the previous checkpoint or the new one, never half of one.
 * Layout: magic, uint32 header length, JSON header, then params (float32), optimizer state (float64),
 * buffers (float32), all little-endian.
 */
export function writeCheckpoint(dir: string, c: Checkpoint): void {
  const header = Buffer.from(
    JSON.stringify({ step: c.step, metricsBytes: c.metricsBytes, params: c.params.length, optimizerState: c.optimizerState.length, buffers: c.buffers?.length ?? 0 }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  const bytes = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const parts = [MAGIC, length, header, bytes(c.params), bytes(c.optimizerState), ...(c.buffers ? [bytes(c.buffers)] : [])];
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  // A file system error is a DiskError naming the checkpoint; the one before stays whole (the rename never came).
  writingTo(join(dir, CHECKPOINT_FILE), () => {
    const fd = openSync(tmp, 'w');
    try {
      for (const p of parts) writeSync(fd, p);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, CHECKPOINT_FILE));
  });
}

/** Reads `<dir>/checkpoint.bin`; the Error says what is wrong with it. */
export function readCheckpoint(dir: string): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new Error(`${path}: no checkpoint (the run needs --checkpoint-every N to write one)`);
  const file = readFileSync(path);
  if (!file.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${path}: not a shardlab checkpoint`);
  const headerLength = file.readUInt32LE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  const h = JSON.parse(file.subarray(headerStart, headerStart + headerLength).toString('utf8')) as { step: number; metricsBytes: number; params: number; optimizerState: number; buffers: number };
  let at = headerStart + headerLength;
  const take = <T extends Float32Array | Float64Array>(make: (n: number) => T, n: number): T => {
    const out = make(n);
    const size = n * out.BYTES_PER_ELEMENT;
    if (at + size > file.length) throw new Error(`${path}: truncated`);
    new Uint8Array(out.buffer).set(file.subarray(at, at + size));
    at += size;
    return out;
  };
  const params = take((n) => new Float32Array(n), h.params);
  const optimizerState = take((n) => new Float64Array(n), h.optimizerState);
  const buffers = h.buffers > 0 ? take((n) => new Float32Array(n), h.buffers) : null;
  if (at !== file.length) throw new Error(`${path}: ${file.length - at} unexpected bytes at the end`);
  return { step: h.step, metricsBytes: h.metricsBytes, params, optimizerState, buffers };
}

/**
 * The settings of the run in `dir` (its config.json), for --resume: only the experiment settings are taken
 * (config.json also records the backend in use, the run id, the data description...).
 */
export function resumeConfig(dir: string): ExperimentConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ConfigError(`--resume ${dir}: no config.json there (is it a run directory?)`);
  if (!existsSync(join(dir, CHECKPOINT_FILE))) throw new ConfigError(`--resume ${dir}: no ${CHECKPOINT_FILE} there (the run needs --checkpoint-every N to write one)`);
  const all = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const keys = new Set(EXPERIMENT_OPTIONS.map((o) => o.key));
  return resolveConfig(Object.fromEntries(Object.entries(all).filter(([k]) => keys.has(k) || k === 'classes')));
}

/**
 * The config of a command that takes `--resume DIR`: the run's own (and DIR as its directory), or else the one
 * the flags describe. Flags beside --resume are refused: the run continues with its own settings.
 */
export function configOrResume(
  experiment: Record<string, unknown>,
  resume: string | undefined,
  out: string | undefined,
  where: (key: string) => string = flagOf,
): { config: ExperimentConfig; resumeDir: string | null } {
  if (resume === undefined) return { config: resolveConfig(experiment, where), resumeDir: null };
  const extra = Object.keys(experiment)[0];
  if (extra !== undefined || out !== undefined) {
    throw new ConfigError(`--resume ${resume}: the run continues with its own settings and directory; leave out ${extra !== undefined ? where(extra) : '--out'}`);
  }
  return { config: resumeConfig(resume), resumeDir: resume };
}
