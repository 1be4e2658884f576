import type { Combined, RobustRule } from '@shardlab/aggregation';

/**
 * The collective seam (DDP's process group + comm hook, in one small interface): how one worker combines a
 * flat buffer with every other worker's. Implementations:
 *   relay             through the coordinator (the coordinator averages; the trainer app provides it over gRPC)
 *   ring              ring all-reduce among the trainers (ring.ts)
 *   halving-doubling  recursive halving and doubling among the trainers, for 2^k workers (halving-doubling.ts)
 *   shared-memory     workers that are threads of one process, through a SharedArrayBuffer (shared-memory.ts)
 * Ring and halving-doubling run in PeerCollective over any PeerLink: gRPC between trainers, or memory in tests. All
 * give every worker identical bytes, so replicas that apply the result stay bit-identical.
 */
export interface Collective {
  /** Sample-weighted average over all workers: sum of weight_k * values_k / sum of weight_k. The returned array may be reused by the next call. */
  average(values: Float32Array, weight: number, step: number): Promise<Float32Array>;
  /**
   * A robust rule (--combine) over every worker's contribution, with the share of each the rule left out: only
   * collectives that hold every contribution in one place have it (shared memory; the relay coordinator computes
   * it itself). Ring and halving-doubling only ever hold partial sums.
   */
  combine?(values: Float32Array, weight: number, step: number, rule: RobustRule): Promise<Combined>;
  /** Element-wise sum of a small float64 vector over all workers (SyncBN statistics); `tag` orders reductions within a step. */
  sum(values: Float64Array, step: number, tag: number): Promise<Float64Array>;
}

/** The collective setting: which implementation averages the gradients. */
export type CollectiveName = 'relay' | 'ring' | 'halving-doubling' | 'shared-memory';
export const COLLECTIVE_NAMES: readonly CollectiveName[] = ['relay', 'ring', 'halving-doubling', 'shared-memory'];

/**
 * What a collective needs from the coordinator and the runtime: the one place that says it, so the coordinator
 * asks these questions instead of testing collective names.
 */
export interface CollectiveNeeds {
  /**
   * The coordinator averages every step's gradients (they come with the pushes) and keeps a replica of its own,
   * whose checksum the workers must match. Otherwise the workers average among themselves: a push carries
   * scalars (and the full gradient only on metric steps), and worker 0 sends its parameters when they are asked
   * for (evaluation).
   */
  coordinatorAverages: boolean;
  /** Every trainer serves Peer and sends its host:port at join; the first step's assignment carries them all. */
  peerAddresses: boolean;
  /** The workers must be threads of the coordinator's process (--runtime threads). */
  threads: boolean;
  /**
   * A robust --combine rule can be computed: every contribution is in one place (the relay coordinator, shared
   * memory). Ring and halving-doubling only ever hold partial sums.
   */
  robustRules: boolean;
}

const NEEDS: Record<CollectiveName, CollectiveNeeds> = {
  relay: { coordinatorAverages: true, peerAddresses: false, threads: false, robustRules: true },
  ring: { coordinatorAverages: false, peerAddresses: true, threads: false, robustRules: false },
  'halving-doubling': { coordinatorAverages: false, peerAddresses: true, threads: false, robustRules: false },
  'shared-memory': { coordinatorAverages: false, peerAddresses: false, threads: true, robustRules: true },
};

export function collectiveNeeds(name: CollectiveName): CollectiveNeeds {
  return NEEDS[name];
}

/** The collectives in which trainers exchange chunks with each other (each needs a Peer service on every trainer). */
export type PeerAlgorithm = 'ring' | 'halving-doubling';
export const isPeerAlgorithm = (name: string): name is PeerAlgorithm => name === 'ring' || name === 'halving-doubling';

/** Moves float32 chunks between workers: gRPC between trainers, or memory in tests. */
export interface PeerLink {
  /** Sends `data` (copied or serialised before this returns) to worker `to` under `key`. */
  send(to: number, key: string, data: Float32Array): Promise<void>;
  /** The chunk worker `from` sent under `key`, whenever it arrives (before or after this call). */
  receive(from: number, key: string): Promise<Float32Array>;
}

/** Whether `world` is 1, 2, 4, 8, ...: the worlds halving-doubling runs in. */
export const isPowerOfTwo = (world: number): boolean => Number.isInteger(world) && world >= 1 && (world & (world - 1)) === 0;

export function checkPowerOfTwo(world: number): void {
  if (!isPowerOfTwo(world)) throw new RangeError(`halving-doubling needs a power of two of workers (1, 2, 4, 8, ...), got ${world}`);
}

/**
 * What `world` members re-formed under --collective `configured` use (elastic membership): halving-doubling where
 * the count is a power of two, else the ring.
 */
export function peerAlgorithmFor(configured: PeerAlgorithm, world: number): PeerAlgorithm {
  return configured === 'halving-doubling' && !isPowerOfTwo(world) ? 'ring' : configured;
}

/**
 * The workers `rank` exchanges chunks with under `algorithm`: its ring neighbours (sends to the next, receives
 * from the previous), or its halving-doubling partners rank XOR 2^j, both ways.
 */
export function peersOf(algorithm: PeerAlgorithm, rank: number, world: number): { sendsTo: number[]; receivesFrom: number[] } {
  if (world === 1) return { sendsTo: [], receivesFrom: [] };
  if (algorithm === 'ring') return { sendsTo: [(rank + 1) % world], receivesFrom: [(rank + world - 1) % world] };
  checkPowerOfTwo(world);
  const partners: number[] = [];
  for (let mask = world >> 1; mask >= 1; mask >>= 1) partners.push(rank ^ mask);
  return { sendsTo: partners, receivesFrom: partners };
}
