import { failedPrecondition } from './errors';

/**
 * Version of the shardlab.v1 wire protocol this build speaks. Bump it when peers built
 * from different commits would misunderstand each other even though the proto still
 * parses (e.g. a changed gradient layout or averaging rule); incompatible message changes
 * get a new proto package (shardlab.v2) instead.
 */
export const PROTOCOL_VERSION = 10;
// 8: a robust --combine among worker threads: the join reply names the rule, and a report carries `discarded`
//    and leaves after the combination. 7: worker 0 reports its optimizer state before a checkpoint.
// 6: the ring's average carries the weight sum in every piece (pieces of n / W + 1 floats), and a ring trainer
//    reports a step before its all-reduce (reduce_ms: the previous step's). 5: PushGradientStream.

export type Peer = 'trainer' | 'coordinator';

/**
 * Throws FAILED_PRECONDITION unless the peer speaks PROTOCOL_VERSION. `peer` is who sent
 * `theirs` (the coordinator checks a trainer's JoinRequest; a trainer checks JoinReply).
 * 0 is what proto3 decodes when the field was never set: said so, it is the likely cause.
 */
export function checkProtocolVersion(theirs: number, peer: Peer = 'trainer'): void {
  if (theirs === PROTOCOL_VERSION) return;
  const us: Peer = peer === 'trainer' ? 'coordinator' : 'trainer';
  const shown = theirs === 0 ? '0 (unset)' : String(theirs);
  throw failedPrecondition(
    `protocol version mismatch: ${peer} speaks shardlab.v1 protocol ${shown}, ${us} speaks ${PROTOCOL_VERSION}`,
  );
}
