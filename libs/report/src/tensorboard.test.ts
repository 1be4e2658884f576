import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricsRecord } from './records';
import { EVENT_TYPE, TensorBoardWriter, crc32c, maskedCrc32c } from './tensorboard';

/** CRC32C bit by bit, straight from the polynomial: a second implementation to check the table-driven one against. */
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const mask = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

/** A TFRecord reader written from the format's description: every length and data CRC checked. */
function readRecords(file: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < file.length) {
    const lengthBytes = file.subarray(at, at + 8);
    const length = Number(file.readBigUInt64LE(at));
    expect(file.readUInt32LE(at + 8), `length CRC of the record at byte ${at}`).toBe(mask(crc32cBitwise(lengthBytes)));
    const data = file.subarray(at + 12, at + 12 + length);
    expect(file.readUInt32LE(at + 12 + length), `data CRC of the record at byte ${at}`).toBe(mask(crc32cBitwise(data)));
    out.push(data);
    at += 12 + length + 4;
  }
  expect(at).toBe(file.length);
  return out;
}

describe('TensorBoard event files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-tb-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('CRC32C matches the standard check value and the bitwise definition', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const random = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
    expect(crc32c(random)).toBe(crc32cBitwise(random));
    expect(maskedCrc32c(random)).toBe(mask(crc32cBitwise(random)));
  });

  it('writes framed records whose CRCs check and whose scalars are the metrics records', () => {
    const records: MetricsRecord[] = [
      { kind: 'event', step: 0, event: 'joined', message: 'worker 0 joined' },
      { kind: 'step', step: 0, loss: 1.25, workerLoss: [1.5, 1], samples: 256, stepMs: 10, computeMs: [4, 6], elapsedSeconds: 0.01, gradNorm: [2, 3], gradCosine: -0.25, gradCosinePairs: [-0.25] },
      { kind: 'step', step: 1, loss: 0.75, workerLoss: [0.5, 1], samples: 256, stepMs: 8, computeMs: [4, 4], elapsedSeconds: 0.02, gradNorm: [1, 1], gradCosine: null, gradCosinePairs: [] },
      { kind: 'eval', step: 2, testAccuracy: 0.625, testLoss: 0.9, perClassAccuracy: [0.5, 0.75] },
    ];
    const writer = new TensorBoardWriter(join(dir, 'run'), ['T-shirt/top', 'Trouser']);
    for (const r of records) writer.record(r);
    writer.close();
    const files = readdirSync(join(dir, 'run'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^events\.out\.tfevents\.\d+\./);
    const events = readRecords(readFileSync(join(dir, 'run', files[0]!))).map((d) => EVENT_TYPE.toObject(EVENT_TYPE.decode(d), { longs: Number }) as {
      fileVersion?: string;
      step?: number;
      summary?: { value: { tag: string; simpleValue: number }[] };
    });
    expect(events[0]!.fileVersion).toBe('brain.Event:2');
    const scalars = events.slice(1).map((e) => ({ step: e.step ?? 0, values: Object.fromEntries(e.summary!.value.map((v) => [v.tag, v.simpleValue])) }));
    expect(scalars).toEqual([
      {
        step: 0,
        values: {
          'train/loss': 1.25,
          'train/loss_worker_0': 1.5,
          'train/loss_worker_1': 1,
          'gradients/norm_worker_0': 2,
          'gradients/norm_worker_1': 3,
          'gradients/cosine_mean': -0.25,
          'time/step_ms': 10,
          'time/communication_share': 0.5,
        },
      },
      { step: 1, values: { 'train/loss': 0.75, 'train/loss_worker_0': 0.5, 'train/loss_worker_1': 1, 'gradients/norm_worker_0': 1, 'gradients/norm_worker_1': 1, 'time/step_ms': 8, 'time/communication_share': 0.5 } },
      { step: 2, values: { 'test/accuracy': 0.625, 'test/loss': Math.fround(0.9), 'test/accuracy_class_T-shirt/top': 0.5, 'test/accuracy_class_Trouser': 0.75 } },
    ]);
  });
});
