/**
 * The one error type this library throws for problems a user can fix (a bad flag, a missing or
 * corrupt file). Messages are a single line and start with the field or file at fault, so the CLI
 * can print them as they are. Programming errors (an out-of-range sample id, a negative step)
 * stay plain RangeErrors.
 */
export class DataError extends Error {
  override readonly name = 'DataError';
}
