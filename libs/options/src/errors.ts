/**
 * Errors a user caused or can fix (bad flag, missing file, port in use, run stopped): the CLI
 * prints their message as one line, without a stack trace. Each library throws its own
 * class; they are recognised by name so this lib needs no dependency on the apps.
 */
const USER_ERRORS = new Set(['ConfigError', 'CollectError', 'FlagError', 'DataError', 'BackendError', 'ListenError', 'TrainerError', 'WorkerError', 'WireError']);

export function isUserError(err: unknown): err is Error {
  return err instanceof Error && USER_ERRORS.has(err.name);
}

/** One line for any error: the message of a user error, else the message plus a hint. */
export function describeError(err: unknown): string {
  if (isUserError(err)) return err.message;
  if (err instanceof Error) return `${err.message} (internal error; rerun with SHARDLAB_DEBUG=1 for a stack trace)`;
  return String(err);
}

/** Thrown when a port cannot be bound (the coordinator's, the dashboard's); the message names the address. */
export class ListenError extends Error {
  override name = 'ListenError';
}
