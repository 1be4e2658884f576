/**
 * Why the step engine refuses a request, in its own terms. The engine knows nothing of gRPC: only the
 * coordinator app maps a fault to a status code (server.ts, `statusOf`).
 *   malformed    the request itself is wrong (missing field, wrong length, NaN)      -> INVALID_ARGUMENT
 *   wrong-state  right request, wrong moment (another step, the run is over, other data) -> FAILED_PRECONDITION
 *   not-member   the caller is not a member of this run                               -> PERMISSION_DENIED
 *   duplicate    already received                                                     -> ALREADY_EXISTS
 *   over-limit   more than the run holds (worker slots, reductions)                   -> RESOURCE_EXHAUSTED
 */
export type RequestFault = 'malformed' | 'wrong-state' | 'not-member' | 'duplicate' | 'over-limit';

export class RequestError extends Error {
  override readonly name = 'RequestError';

  constructor(
    readonly fault: RequestFault,
    message: string,
  ) {
    super(message);
  }
}

/** instanceof, plus a structural check (two copies of this package, src and dist, may be loaded). */
export function isRequestError(err: unknown): err is RequestError {
  return err instanceof RequestError || (err instanceof Error && err.name === 'RequestError' && typeof (err as { fault?: unknown }).fault === 'string');
}

export const malformed = (message: string): RequestError => new RequestError('malformed', message);
export const wrongState = (message: string): RequestError => new RequestError('wrong-state', message);
export const notMember = (message: string): RequestError => new RequestError('not-member', message);
export const duplicate = (message: string): RequestError => new RequestError('duplicate', message);
export const overLimit = (message: string): RequestError => new RequestError('over-limit', message);
