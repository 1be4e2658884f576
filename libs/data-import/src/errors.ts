/** What an import cannot do, said in one line naming the file (and row or column) at fault. */
export class ImportError extends Error {
  override name = 'ImportError';
}
