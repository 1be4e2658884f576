import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataFingerprint, loadDataset } from '@shardlab/data';
import {
  CHANNEL_OPTIONS,
  PROTOCOL_VERSION,
  REDUCTION_VALUES_PER_WORKER_STEP,
  identityInterceptor,
  loadCoordinatorService,
  type CallerIdentity,
  type CoordinatorClient,
  type DatasetDescription__Output,
  type JoinReply__Output,
} from '@shardlab/protocol';
import { datasetSpecFromWire } from '@shardlab/worker';
import { CLI_MAIN } from './embedded';
import { NODE_FLAGS } from './node-flags';

/*
 * What one member holding the run token and a slot can make the coordinator hold, for models of 5.8M and 10M
 * parameters (issue 25's attacks): every in-step reduction it is allowed, at the most values a request may carry,
 * until it is refused; and a push whose tensor shape is a packed field of tens of millions of one-byte entries.
 * Figures: how the member was stopped, how long that took, and the coordinator's peak RSS above its RSS once the
 * run started. Memory and time are for the bench, never for a test.
 */

const TOKEN = 'bench-attack-token-0123456789';
const MiB = 1024 * 1024;

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

function rpc<Res>(client: CoordinatorClient, method: 'getDataset' | 'join' | 'nextStep' | 'allReduce', req: object): Promise<Res> {
  return new Promise((resolve, reject) =>
    (client[method] as (r: object, o: grpc.CallOptions, cb: grpc.requestCallback<Res>) => void).call(client, req, { deadline: Date.now() + 60_000 }, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

/** A length-delimited protobuf field: its tag byte, the length as a varint, the bytes. */
function delimited(tag: number, body: Buffer): Buffer {
  const length: number[] = [];
  for (let n = body.length; ; n = Math.floor(n / 128)) {
    length.push(n > 0x7f ? (n & 0x7f) | 0x80 : n);
    if (n <= 0x7f) break;
  }
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}

/** A GradientUpdate whose gradient (field 6) has a packed shape (Tensor field 1) of `entries` one-byte varints. */
function shapeBomb(entries: number): Buffer {
  return delimited(0x32, delimited(0x0a, Buffer.alloc(entries, 0x01)));
}

interface AttackFigures {
  stoppedBy: string;
  seconds: number;
  peakMiB: number;
}

/** One coordinator process of `hidden` width, two slots taken by the attacker; `attack` runs against it. */
async function againstCoordinator(hidden: string, attack: (members: { client: CoordinatorClient; address: string; runId: string; identity: CallerIdentity }[]) => Promise<string>): Promise<AttackFigures> {
  const out = mkdtempSync(join(tmpdir(), 'shardlab-attack-'));
  const child = spawn(
    process.execPath,
    [...NODE_FLAGS, CLI_MAIN, 'coordinator', '--port', '0', '--workers', '2', '--collective', 'relay', '--hidden', String(hidden), '--samples', '2000', '--test-samples', '100', '--steps', '5', '--out', out],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SHARDLAB_TOKEN: TOKEN } },
  );
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stderr!.on('data', (d) => {
        text += d;
        const m = /listening on (127\.0\.0\.1:\d+)/.exec(text);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`the coordinator exited: ${text}`)));
    });
    const { Coordinator } = loadCoordinatorService();
    const open = new Coordinator(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, interceptors: [identityInterceptor({ token: TOKEN })] });
    const d = await rpc<DatasetDescription__Output>(open, 'getDataset', {});
    const data = dataFingerprint(loadDataset(datasetSpecFromWire(d.dataset!)).train);
    const joined: JoinReply__Output[] = [];
    for (const name of ['attacker-0', 'attacker-1']) joined.push(await rpc(open, 'join', { protocolVersion: PROTOCOL_VERSION, name, backend: 'cpu', data }));
    const members = joined.map((j, index) => {
      const identity: CallerIdentity = { token: TOKEN, worker: { index, credential: j.credential } };
      return { client: new Coordinator(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, 'grpc.max_send_message_length': -1, interceptors: [identityInterceptor(identity)] }), address, runId: j.runId, identity };
    });
    await Promise.all(members.map((m, w) => rpc(m.client, 'nextStep', { runId: m.runId, worker: w, step: 0 })));
    const base = rssKb(child.pid!, 'VmRSS');
    const started = performance.now();
    const stoppedBy = await attack(members);
    const seconds = (performance.now() - started) / 1000;
    const peakMiB = (rssKb(child.pid!, 'VmHWM') - base) / 1024;
    for (const m of members) m.client.close();
    open.close();
    return { stoppedBy, seconds, peakMiB };
  } finally {
    child.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
  }
}

/** Reductions at the most values a request may carry, tag after tag, until the coordinator refuses the member. */
async function reductionFlood(members: { client: CoordinatorClient; runId: string }[]): Promise<string> {
  const values = new Array<number>(REDUCTION_VALUES_PER_WORKER_STEP).fill(1);
  const pending: Promise<unknown>[] = [];
  for (let tag = 0; tag < 65; tag++) {
    const call = rpc(members[0]!.client, 'allReduce', { runId: members[0]!.runId, worker: 0, step: 0, tag, values });
    pending.push(call.catch(() => undefined));
    // An accepted reduction waits for worker 1, which never sends: a refusal comes within the window, or none does.
    const refused = await Promise.race([call.then(() => null, (err: grpc.ServiceError) => err), new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
    if (refused) return `${grpc.status[refused.code]} at reduction ${tag + 1}: ${refused.details.slice(0, 100)}`;
  }
  return 'not refused after 65 reductions';
}

/** A push whose gradient shape is `entries` one-byte varints (a frame under the push limit). */
async function shapeBombPush(entries: number, members: { address: string; identity: CallerIdentity }[]): Promise<string> {
  // Raw bytes, as an attacker's own client sends them, with the member's token and credential.
  const client = new grpc.Client(members[0]!.address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1, interceptors: [identityInterceptor(members[0]!.identity)] });
  const err = await new Promise<grpc.ServiceError | null>((resolve) =>
    client.makeUnaryRequest('/shardlab.v1.Coordinator/PushGradient', (b: Buffer) => b, (b: Buffer) => b, shapeBomb(entries), new grpc.Metadata(), { deadline: Date.now() + 60_000 }, (e) =>
      resolve(e as grpc.ServiceError | null),
    ),
  );
  client.close();
  return err ? `${grpc.status[err.code]}: ${err.details.slice(0, 90)}` : 'accepted';
}

/** Rows of bench section 7: per model size, each attack's outcome, time and coordinator memory. */
export async function memberAttacks(): Promise<string[][]> {
  const rows: string[][] = [];
  // MLP 784 -> hidden -> 4: 5.76M and 10.0M parameters (hidden widths stop at 8192).
  for (const [hidden, label, parameters] of [
    ['7300', '5.8M', 5_759_704],
    ['8192,435', '10.0M', 9_996_419],
  ] as const) {
    const flood = await againstCoordinator(hidden, (m) => reductionFlood(m));
    rows.push([label, `in-step reductions of ${REDUCTION_VALUES_PER_WORKER_STEP} values, tag after tag`, flood.stoppedBy, flood.seconds.toFixed(2), flood.peakMiB.toFixed(0)]);
    // Just under the push limit (2 x 4 bytes a parameter + 64 KiB, at most the 64 MiB every message is held to).
    const entries = Math.floor(Math.min(2 * 4 * parameters, 64 * MiB) * 0.99);
    const bomb = await againstCoordinator(hidden, (m) => shapeBombPush(entries, m));
    rows.push([label, `push with a ${(entries / 1e6).toFixed(0)}M-entry packed shape (${(entries / MiB).toFixed(0)} MiB)`, bomb.stoppedBy, bomb.seconds.toFixed(2), bomb.peakMiB.toFixed(0)]);
  }
  return rows;
}
