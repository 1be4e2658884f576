import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { writingTo } from './files';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import type { MetricsRecord } from './records';

/*
 * TensorBoard event files, the format tfjs-node's summaryFileWriter, PyTorch's SummaryWriter and Keras
 * write, so `tensorboard --logdir runs/` shows every run (one directory per run: per arm and seed in a sweep).
 *
 * A file is a sequence of TFRecords: uint64 length (little-endian), uint32 masked CRC32C of those 8 bytes,
 * the bytes of one `Event` proto, uint32 masked CRC32C of them. The first event holds only
 * file_version "brain.Event:2"; every other one a `Summary` of scalar values (tag, simple_value) at a step.
 * The Event and Summary messages are the subset of tensorflow/core/util/event.proto and
 * tensorflow/core/framework/summary.proto that scalars need, with their field numbers.
 */

const root = protobuf.Root.fromJSON({
  nested: {
    tensorboard: {
      nested: {
        Event: {
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: { fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 }, metadata: { type: 'SummaryMetadata', id: 9 } } },
          },
        },
        // tensorflow/core/framework/summary.proto: which plugin a value is for, and its own serialized data.
        SummaryMetadata: {
          fields: { pluginData: { type: 'PluginData', id: 1 } },
          nested: { PluginData: { fields: { pluginName: { type: 'string', id: 1 }, content: { type: 'bytes', id: 2 } } } },
        },
        // tensorboard/plugins/hparams/plugin_data.proto (a session's settings and its end) and google.protobuf.Value.
        HParamsPluginData: {
          fields: { version: { type: 'int32', id: 1 }, sessionStartInfo: { type: 'SessionStartInfo', id: 3 }, sessionEndInfo: { type: 'SessionEndInfo', id: 4 } },
        },
        SessionStartInfo: {
          fields: {
            hparams: { keyType: 'string', type: 'ProtoValue', id: 1 } as protobuf.IField,
            groupName: { type: 'string', id: 4 },
            startTimeSecs: { type: 'double', id: 5 },
          },
        },
        SessionEndInfo: { fields: { status: { type: 'int32', id: 1 }, endTimeSecs: { type: 'double', id: 2 } } },
        ProtoValue: {
          oneofs: { kind: { oneof: ['numberValue', 'stringValue', 'boolValue'] } },
          fields: { numberValue: { type: 'double', id: 2 }, stringValue: { type: 'string', id: 3 }, boolValue: { type: 'bool', id: 4 } },
        },
      },
    },
  },
});
/** The Event message type (also what a reader decodes with). */
export const EVENT_TYPE = root.lookupType('tensorboard.Event');
const HPARAMS_TYPE = root.lookupType('tensorboard.HParamsPluginData');

/** A run's settings as TensorBoard's HParams view shows them: numbers, text and booleans (lists as text). */
export type HParams = Record<string, number | string | boolean>;

/** tensorboard/plugins/hparams/api.proto Status: how a session ended. */
export const HPARAMS_STATUS = { completed: 1, failed: 2 } as const;

/** A Summary value the HParams plugin reads: `tag` with an HParamsPluginData (version 0) as its plugin content. */
function hparamsEvent(tag: string, data: Record<string, unknown>, wallTime: number): Uint8Array {
  const content = HPARAMS_TYPE.encode(HPARAMS_TYPE.create({ version: 0, ...data })).finish();
  return EVENT_TYPE.encode(EVENT_TYPE.create({ wallTime, step: 0, summary: { value: [{ tag, metadata: { pluginData: { pluginName: 'hparams', content } } }] } })).finish();
}

/**
 * The event that starts an HParams session: the run's settings. Runs with the same `group` (its settings but the
 * seed) are one session group, which the HParams view aggregates.
 */
export function hparamsStartEvent(hparams: HParams, group: string, wallTime = Date.now() / 1000): Uint8Array {
  const values = Object.fromEntries(
    Object.entries(hparams).map(([k, v]) => [k, typeof v === 'number' ? { numberValue: v } : typeof v === 'boolean' ? { boolValue: v } : { stringValue: v }]),
  );
  return hparamsEvent('_hparams_/session_start_info', { sessionStartInfo: { hparams: values, groupName: group, startTimeSecs: wallTime } }, wallTime);
}

/** The event that ends an HParams session with the run's status. */
export function hparamsEndEvent(status: keyof typeof HPARAMS_STATUS, wallTime = Date.now() / 1000): Uint8Array {
  return hparamsEvent('_hparams_/session_end_info', { sessionEndInfo: { status: HPARAMS_STATUS[status], endTimeSecs: wallTime } }, wallTime);
}

/** A class name as one segment of a tag: no '/', which TensorBoard reads as a group. */
const tagSegment = (name: string): string => name.replace(/[^\w.-]+/g, '_');

// ---- CRC32C (Castagnoli), as TFRecord uses it ------------------------------------------------------

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15, add a constant (so a CRC of data that holds CRCs stays sane). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord around `data`. */
export function tfRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

/** The encoded Event of scalar values at a step. */
export function scalarEvent(step: number, values: readonly { tag: string; value: number }[], wallTime = Date.now() / 1000): Uint8Array {
  return EVENT_TYPE.encode(EVENT_TYPE.create({ wallTime, step, summary: { value: values.map((v) => ({ tag: v.tag, simpleValue: v.value })) } })).finish();
}

/** Scalars of one metrics record, with the tags TensorBoard groups by their prefix. */
export function scalarsOf(r: MetricsRecord, classNames: readonly string[] = []): { step: number; values: { tag: string; value: number }[] } | null {
  const values: { tag: string; value: number }[] = [];
  const add = (tag: string, value: number | null | undefined) => {
    if (value !== null && value !== undefined && Number.isFinite(value)) values.push({ tag, value });
  };
  if (r.kind === 'step') {
    add('train/loss', r.loss);
    r.workerLoss.forEach((l, w) => add(`train/loss_worker_${w}`, l));
    r.gradNorm?.forEach((n, w) => add(`gradients/norm_worker_${w}`, n));
    add('gradients/cosine_mean', r.gradCosine);
    add('time/step_ms', r.stepMs);
    const meanCompute = r.computeMs.reduce((a, b) => a + b, 0) / Math.max(1, r.computeMs.length);
    if (r.stepMs > 0) add('time/communication_share', Math.max(0, 1 - meanCompute / r.stepMs));
    return { step: r.step, values };
  }
  if (r.kind === 'eval') {
    add('test/accuracy', r.testAccuracy);
    add('test/loss', r.testLoss);
    r.perClassAccuracy.forEach((a, c) => add(`class_accuracy/${tagSegment(classNames[c] ?? `class ${c}`)}`, a));
    add('test/weight_divergence', r.weightDivergence);
    return { step: r.step, values };
  }
  return null;
}

/**
 * Appends TensorBoard events to `<dir>/events.out.tfevents.<seconds>.<host>` as the run goes (each record is
 * written at once, so a crash loses nothing already seen). Synchronous writes: a few hundred bytes a step.
 */
export class TensorBoardWriter {
  readonly path: string;
  private fd: number | null;

  constructor(dir: string, private readonly classNames: readonly string[] = []) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname().replace(/[^\w.-]/g, '_')}`);
    this.fd = writingTo(this.path, () => openSync(this.path, 'a'));
    this.write(EVENT_TYPE.encode(EVENT_TYPE.create({ wallTime: Date.now() / 1000, fileVersion: 'brain.Event:2' })).finish());
  }

  /** Starts the run's HParams session: its settings, grouped with the runs whose settings differ only in the seed. */
  hparams(hparams: HParams, group: string): void {
    this.write(hparamsStartEvent(hparams, group));
  }

  /** Ends the HParams session: the final figures as scalars (the HParams view's metric columns), then the status. */
  end(status: keyof typeof HPARAMS_STATUS, step: number, finals: Record<string, number | null>): void {
    const values = Object.entries(finals).flatMap(([tag, value]) => (value !== null && Number.isFinite(value) ? [{ tag: `final/${tag}`, value }] : []));
    if (values.length) this.write(scalarEvent(step, values));
    this.write(hparamsEndEvent(status));
  }

  /** Writes the scalars of one metrics record (step and eval records; events carry none). */
  record(r: MetricsRecord): void {
    const s = scalarsOf(r, this.classNames);
    if (s && s.values.length > 0) this.write(scalarEvent(s.step, s.values));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private write(event: Uint8Array): void {
    if (this.fd === null) return;
    const fd = this.fd;
    writingTo(this.path, () => writeSync(fd, tfRecord(event)));
  }
}

/** Reads an event file back: every record's CRCs are checked (an Error names the first bad one); scalar events only. */
export function readScalarEvents(file: Buffer): { step: number; values: Record<string, number> }[] {
  const out: { step: number; values: Record<string, number> }[] = [];
  for (let at = 0; at < file.length; ) {
    if (at + 12 > file.length) throw new Error(`truncated record header at byte ${at}`);
    const length = Number(file.readBigUInt64LE(at));
    if (file.readUInt32LE(at + 8) !== maskedCrc32c(file.subarray(at, at + 8))) throw new Error(`bad length CRC at byte ${at}`);
    if (at + 12 + length + 4 > file.length) throw new Error(`truncated record at byte ${at}`);
    const data = file.subarray(at + 12, at + 12 + length);
    if (file.readUInt32LE(at + 12 + length) !== maskedCrc32c(data)) throw new Error(`bad data CRC at byte ${at}`);
    const event = EVENT_TYPE.toObject(EVENT_TYPE.decode(data), { longs: Number }) as { step?: number; summary?: { value?: { tag: string; simpleValue?: number }[] } };
    // Scalars only: the HParams plugin's values carry plugin content instead of a simple_value.
    const scalars = (event.summary?.value ?? []).filter((v) => v.simpleValue !== undefined);
    if (scalars.length) out.push({ step: event.step ?? 0, values: Object.fromEntries(scalars.map((v) => [v.tag, v.simpleValue!])) });
    at += 12 + length + 4;
  }
  return out;
}
