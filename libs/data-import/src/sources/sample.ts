/** One sample as a source yields it: its features (one row), their shape, its class as the source names it, and where it came from (for messages). */
export interface Sample {
  features: Uint8Array | Float32Array;
  shape: readonly number[];
  label: string;
  where: string;
  /** The split the source puts it in (an image folder's train/ and test/, a Parquet file's name); undefined: drawn by --test-fraction. */
  split?: 'train' | 'test';
}
