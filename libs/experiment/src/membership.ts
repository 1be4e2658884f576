import { collectiveNeeds } from '@shardlab/collective';
import { fingerprintDifferences, type DataFingerprint } from '@shardlab/data';
import { checkProtocolVersion } from '@shardlab/protocol';
import { malformed, notMember, overLimit, wrongState } from './errors';
import type { RunConfig } from './config';
import { escapeUntrusted } from './refusals';

/** One trainer of the run, by worker index. */
export interface Member {
  name: string;
  backend: string;
  /** Steps whose contribution was averaged in. */
  contributions: number;
  /** Ring: host:port of its Peer service; '' under relay. */
  peerAddress: string;
  /** Declared lost (--lost-worker continue or replace): out of the run, its calls refused. */
  lost: boolean;
  /** --lost-worker replace: the slot waits for a replacement trainer. */
  vacant: boolean;
  /** How many trainers held this slot before this one (a replacement's credential differs from the lost one's). */
  generation: number;
  /** The longest event-loop delay its trainers reported, in ms (a loop held longer than a keepalive timeout drops connections). */
  loopDelayMs: number;
}

/** What a trainer says about itself when it joins. */
export interface Applicant {
  protocolVersion: number;
  name: string;
  backend: string;
  data?: DataFingerprint | null;
  peerAddress?: string;
}

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[^\s:/]+):\d{1,5}$/;

/**
 * Who may join a run and who is in it. Every check on a joining trainer happens before it gets a slot, so a
 * trainer with the wrong protocol, other data or no peer address never becomes a member; and every later
 * request names a run id and a worker index that must be a member's.
 */
export class Membership {
  readonly members: Member[] = [];

  constructor(
    readonly runId: string,
    private readonly config: RunConfig,
    /** Our copy of the training set, which a trainer's must equal under feed "ids"; null under feed "features". */
    private readonly fingerprint: DataFingerprint | null,
  ) {}

  get full(): boolean {
    return this.members.filter((m) => !m.vacant).length >= this.config.workers;
  }

  /** Members holding a slot (not vacant). */
  get joined(): number {
    return this.members.filter((m) => !m.vacant).length;
  }

  /**
   * Checks an applicant and gives it the next worker index. Throws a RequestError (which the coordinator app maps to the gRPC status the trainer
   * gets) otherwise; `onRefused` hears about refusals that a well-configured cluster should never see.
   */
  admit(req: Applicant, state: string, onRefused: (kind: string, message: string) => void): number {
    const { config } = this;
    checkProtocolVersion(req.protocolVersion);
    if (!req.backend) throw malformed('JoinRequest.backend must name the trainer backend (tensorflow, native, wasm or cpu)');
    // A vacant slot is filled first: one whose trainer left before the run started, or (--lost-worker replace)
    // a lost worker's; a run in progress takes a trainer only into such a slot.
    const vacancy = this.members.findIndex((m) => m.vacant);
    if (vacancy < 0 && this.full) throw overLimit(`all ${config.workers} worker slots are taken`);
    if (state !== 'waiting' && (state !== 'running' || vacancy < 0)) throw wrongState(`run ${this.runId} is ${state}; it takes no new workers`);
    if (this.fingerprint) {
      if (!req.data) throw malformed('JoinRequest.data: this run feeds sample ids (--feed ids), so a trainer must load the dataset and send its fingerprint');
      const diffs = fingerprintDifferences(this.fingerprint, req.data);
      if (diffs.length > 0) {
        const message = `trainer "${escapeUntrusted(req.name, 64)}" has other data than the coordinator (${config.dataset}): ${diffs.join('; ')}`;
        onRefused('other data', message);
        throw wrongState(message);
      }
    }
    const peerAddress = req.peerAddress ?? '';
    if (collectiveNeeds(config.collective).peerAddresses && !HOST_PORT.test(peerAddress)) {
      throw malformed(`JoinRequest.peer_address: this run averages among the trainers (--collective ${config.collective}), so a trainer must send the host:port of its Peer service, got ${JSON.stringify(peerAddress)}`);
    }
    const worker = vacancy >= 0 ? vacancy : this.members.length;
    const before = this.members[worker];
    // Names and backends are printed in logs and written to files: escaped, so a newline cannot forge a line.
    this.members[worker] = {
      name: escapeUntrusted(req.name || `worker-${worker}`, 64),
      backend: escapeUntrusted(req.backend, 16),
      contributions: before?.contributions ?? 0,
      loopDelayMs: before?.loopDelayMs ?? 0,
      peerAddress,
      lost: false,
      vacant: false,
      generation: before ? before.generation + 1 : 0,
    };
    return worker;
  }

  /** PERMISSION_DENIED unless (runId, worker) is a member of this run; `onRefused` hears the reason first. */
  check(runId: string, worker: number, onRefused: (kind: string, message: string) => void): Member {
    if (runId !== this.runId || !Number.isInteger(worker) || worker < 0 || worker >= this.members.length) {
      const message = runId !== this.runId ? `unknown run id "${escapeUntrusted(runId, 40)}"` : `worker ${worker} never joined this run`;
      onRefused('not a member', message);
      throw notMember(message);
    }
    const member = this.members[worker]!;
    if (member.lost) {
      onRefused('lost worker', `worker ${worker} was declared lost`);
      throw wrongState(`run stopped for this worker: worker ${worker} was declared lost and is no longer part of the run`);
    }
    return member;
  }

  /** The workers still in the run, in worker order. */
  active(): number[] {
    return this.members.flatMap((m, w) => (m.lost ? [] : [w]));
  }

  /** "worker 2 (trainer-2)", for messages. */
  describe(worker: number): string {
    return `worker ${worker} (${this.members[worker]!.name})`;
  }
}
