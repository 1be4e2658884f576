/*
 * The step engine's requests and replies are the wire's own types, generated from
 * proto/shardlab/v1/shardlab.proto (@shardlab/protocol): what it receives and what it answers with are
 * Foo__Output (every field present, proto3 defaults for unset scalars), so a gRPC handler hands a request
 * over as it is and sends the answer as it is. Only the run's lifecycle is the engine's own.
 */

/** Where a run is: waiting for its workers, running, or over (finished, or failed with a reason). */
export type SessionState = 'waiting' | 'running' | 'finished' | 'failed';
