/**
 * Errors a user caused or can fix (bad flag, missing file, port in use, run stopped): the CLI
 * prints their message as one line, without a stack trace. Each library throws its own
 * class; they are recognised by name so this lib needs no dependency on the apps.
 */
const USER_ERRORS = new Set(['DiskError', 'ConfigError', 'CollectError', 'FlagError', 'DataError', 'BackendError', 'ListenError', 'TrainerError', 'WorkerError', 'WireError', 'DirectoryLocked']);

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

/**
 * Why a bind failed, in words and with the flag to change: from the system's code in `message` (grpc-js wraps it
 * as "No address added ... errors: [listen EADDRNOTAVAIL: ...]", Node's http gives it as is).
 */
export function bindFailure(message: string, flags: { host: string; port: string }): string {
  if (/EADDRINUSE|address already in use/i.test(message)) return `port in use (${flags.port}: pick another, or 0 for any free port)`;
  if (/EADDRNOTAVAIL|address not available/i.test(message)) return `that address is not one of this machine's (${flags.host})`;
  if (/EACCES|permission denied/i.test(message)) return `permission denied (ports below 1024 need root; ${flags.port})`;
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(message)) return `the host name does not resolve (${flags.host})`;
  return message;
}
