import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint, writeCheckpoint } from './checkpoint';

describe('checkpoint files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-ckpt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips every value exactly, replacing the previous checkpoint and leaving no temporary file', () => {
    const first = { step: 10, metricsBytes: 1234, params: Float32Array.of(1.5, -2, 3e-8), optimizerState: Float64Array.of(10, 0.1 + 0.2, -1e-300), buffers: null };
    writeCheckpoint(dir, first);
    const second = { ...first, step: 20, params: Float32Array.of(Math.fround(0.1), 2, 3), buffers: Float32Array.of(7, 8) };
    writeCheckpoint(dir, second);
    expect(readCheckpoint(dir)).toEqual(second);
    expect(readdirSync(dir)).toEqual(['checkpoint.bin']);
  });

  it('refuses a missing, foreign or truncated file, naming it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'shardlab-ckpt-'));
    expect(() => readCheckpoint(empty)).toThrow(/no checkpoint \(the run needs --checkpoint-every N/);
    writeFileSync(join(empty, 'checkpoint.bin'), 'hello');
    expect(() => readCheckpoint(empty)).toThrow(/not a shardlab checkpoint/);
    writeCheckpoint(empty, { step: 1, metricsBytes: 0, params: new Float32Array(100), optimizerState: new Float64Array(1), buffers: null });
    const full = readFileSync(join(empty, 'checkpoint.bin'));
    writeFileSync(join(empty, 'checkpoint.bin'), full.subarray(0, full.length - 10));
    expect(() => readCheckpoint(empty)).toThrow(/truncated/);
    rmSync(empty, { recursive: true, force: true });
  });
});
