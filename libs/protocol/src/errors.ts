import { status, type ServerErrorResponse } from '@grpc/grpc-js';

/**
 * An error meant to cross the wire: it carries the gRPC status a handler should answer
 * with. Throw it from anywhere below a handler (the step engine knows nothing of gRPC)
 * and turn it into the callback's error with toServiceError().
 */
export class WireError extends Error {
  override readonly name = 'WireError';
  /** grpc-js reads `details` (falling back to `message`) for the status text. */
  readonly details: string;

  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.details = message;
  }
}

/**
 * instanceof, plus a structural check: with two copies of this package loaded (src via the
 * @shardlab/source condition and dist), a WireError from one fails instanceof the other.
 */
export function isWireError(err: unknown): err is WireError {
  if (err instanceof WireError) return true;
  if (!(err instanceof Error) || err.name !== 'WireError') return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16;
}

export const invalidArgument = (message: string): WireError => new WireError(status.INVALID_ARGUMENT, message);
export const failedPrecondition = (message: string): WireError => new WireError(status.FAILED_PRECONDITION, message);
export const permissionDenied = (message: string): WireError => new WireError(status.PERMISSION_DENIED, message);
export const alreadyExists = (message: string): WireError => new WireError(status.ALREADY_EXISTS, message);
export const resourceExhausted = (message: string): WireError => new WireError(status.RESOURCE_EXHAUSTED, message);
export const notFound = (message: string): WireError => new WireError(status.NOT_FOUND, message);
export const unavailable = (message: string): WireError => new WireError(status.UNAVAILABLE, message);

/**
 * The error to pass to a unary handler's callback. A WireError keeps its code; anything
 * else is a bug on our side, so INTERNAL, with its message (this is a lab tool: a readable
 * cause beats hiding internals from the peer).
 */
export function toServiceError(err: unknown): ServerErrorResponse {
  if (isWireError(err)) return err;
  return new WireError(status.INTERNAL, err instanceof Error ? err.message || err.name : `non-error thrown: ${String(err)}`);
}
