import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricsRecord } from './records';
import { execFileSync } from 'node:child_process';
import { DEBIAN_PYTHON } from '@shardlab/testing';
import { EVENT_TYPE, TensorBoardWriter, crc32c, maskedCrc32c } from './tensorboard';

/*
 * An independent reader of the HParams events: Google's protobuf runtime (Debian's python3-protobuf) with the
 * messages declared from tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto and
 * tensorboard/plugins/hparams/plugin_data.proto (their field numbers), and the real google.protobuf.Value.
 * Prints, per event with plugin data, its tag, plugin name and decoded HParamsPluginData as JSON.
 */
const PY_HPARAMS = `
import json, struct, sys
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, struct_pb2
from google.protobuf import message_factory
F = descriptor_pb2.FieldDescriptorProto
pool = descriptor_pool.DescriptorPool()
pool.AddSerializedFile(struct_pb2.DESCRIPTOR.serialized_pb)
fd = descriptor_pb2.FileDescriptorProto(name='tb.proto', package='tb', dependency=['google/protobuf/struct.proto'], syntax='proto3')
def msg(name, fields, nested=()):
    m = fd.message_type.add(name=name)
    for n in nested: m.nested_type.add().CopyFrom(n)
    for (fname, num, ftype, label, tname) in fields:
        f = m.field.add(name=fname, number=num, type=ftype, label=label or F.LABEL_OPTIONAL)
        if tname: f.type_name = tname
    return m
O, R = F.LABEL_OPTIONAL, F.LABEL_REPEATED
entry = descriptor_pb2.DescriptorProto(name='HparamsEntry')
entry.field.add(name='key', number=1, type=F.TYPE_STRING, label=O)
entry.field.add(name='value', number=2, type=F.TYPE_MESSAGE, label=O, type_name='.google.protobuf.Value')
entry.options.map_entry = True
msg('PluginData', [('plugin_name', 1, F.TYPE_STRING, O, None), ('content', 2, F.TYPE_BYTES, O, None)])
msg('SummaryMetadata', [('plugin_data', 1, F.TYPE_MESSAGE, O, '.tb.PluginData')])
msg('Value', [('tag', 1, F.TYPE_STRING, O, None), ('simple_value', 2, F.TYPE_FLOAT, O, None), ('metadata', 9, F.TYPE_MESSAGE, O, '.tb.SummaryMetadata')])
msg('Summary', [('value', 1, F.TYPE_MESSAGE, R, '.tb.Value')])
msg('Event', [('wall_time', 1, F.TYPE_DOUBLE, O, None), ('step', 2, F.TYPE_INT64, O, None), ('file_version', 3, F.TYPE_STRING, O, None), ('summary', 5, F.TYPE_MESSAGE, O, '.tb.Summary')])
msg('SessionStartInfo', [('hparams', 1, F.TYPE_MESSAGE, R, '.tb.SessionStartInfo.HparamsEntry'), ('group_name', 4, F.TYPE_STRING, O, None), ('start_time_secs', 5, F.TYPE_DOUBLE, O, None)], [entry])
msg('SessionEndInfo', [('status', 1, F.TYPE_INT32, O, None), ('end_time_secs', 2, F.TYPE_DOUBLE, O, None)])
msg('HParamsPluginData', [('version', 1, F.TYPE_INT32, O, None), ('session_start_info', 3, F.TYPE_MESSAGE, O, '.tb.SessionStartInfo'), ('session_end_info', 4, F.TYPE_MESSAGE, O, '.tb.SessionEndInfo')])
pool.Add(fd)
cls = lambda n: message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName('tb.' + n))
Event, Data = cls('Event'), cls('HParamsPluginData')
data = open(sys.argv[1], 'rb').read()
at, out = 0, []
while at < len(data):
    (n,) = struct.unpack('<Q', data[at:at + 8])
    e = Event.FromString(data[at + 12:at + 12 + n])
    at += 12 + n + 4
    for v in e.summary.value:
        if v.HasField('metadata'):
            d = Data.FromString(v.metadata.plugin_data.content)
            out.append({'tag': v.tag, 'plugin': v.metadata.plugin_data.plugin_name, 'data': json_format.MessageToDict(d)})
        else:
            out.append({'tag': v.tag, 'step': e.step, 'value': v.simple_value})
print(json.dumps(out))
`;

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
      { step: 2, values: { 'test/accuracy': 0.625, 'test/loss': Math.fround(0.9), 'class_accuracy/T-shirt_top': 0.5, 'class_accuracy/Trouser': 0.75 } },
    ]);
  });

  it('starts and ends an HParams session that an independent protobuf reader decodes: the settings, their group, the final figures, the status', () => {
    const writer = new TensorBoardWriter(join(dir, 'hparams'), ['T-shirt/top', 'class 1']);
    writer.hparams({ strategy: 'label-per-node', lr: 0.05, hidden: '128,64', seed: 3, quiet: false }, 'group-a');
    writer.record({ kind: 'eval', step: 4, testAccuracy: 0.5, testLoss: 1, perClassAccuracy: [0.25, 0.75] });
    writer.end('completed', 4, { test_accuracy: 0.5, loss_swing: null });
    writer.close();
    const file = join(dir, 'hparams', readdirSync(join(dir, 'hparams'))[0]!);
    const events = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', PY_HPARAMS, file], { encoding: 'utf8' })) as Record<string, unknown>[];
    expect(events[0]).toMatchObject({
      tag: '_hparams_/session_start_info',
      plugin: 'hparams',
      data: { sessionStartInfo: { hparams: { strategy: 'label-per-node', lr: 0.05, hidden: '128,64', seed: 3, quiet: false }, groupName: 'group-a' } },
    });
    expect((events[0]!['data'] as { version?: number }).version ?? 0).toBe(0);
    // Class names as one tag segment each: no '/' inside, no doubled "class".
    expect(events.filter((e) => 'value' in e).map((e) => e['tag'])).toEqual(['test/accuracy', 'test/loss', 'class_accuracy/T-shirt_top', 'class_accuracy/class_1', 'final/test_accuracy']);
    expect(events.at(-2)).toEqual({ tag: 'final/test_accuracy', step: 4, value: 0.5 });
    expect(events.at(-1)).toMatchObject({ tag: '_hparams_/session_end_info', plugin: 'hparams', data: { sessionEndInfo: { status: 1 } } });
  });
});
