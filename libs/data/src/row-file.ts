import { closeSync, openSync, readSync } from 'node:fs';
import { loadNative, type NativeAddon } from '@shardlab/native';
import { DataError } from './errors';

/**
 * A file of fixed-stride rows after a header, read by positional reads: a batch touches only its rows, memory
 * does not grow with the file, and files above 2 GiB (which readFileSync refuses) read like any other. The one
 * reader of .npy and uncompressed IDX data.
 */
export class RowFile {
  private fd: number;

  constructor(
    readonly path: string,
    /** Where row 0 starts. */
    readonly dataOffset: number,
    readonly rowBytes: number,
  ) {
    this.fd = openSync(path, 'r');
  }

  /** `length` bytes at `position`, read whole. */
  read(position: number, length: number, into: Uint8Array = new Uint8Array(length)): Uint8Array {
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, into, done, length - done, position + done);
      if (n === 0) throw new DataError(`${this.path}: ended after ${position + done} bytes`);
      done += n;
    }
    return into;
  }

  /**
   * The rows `rows` (in that order) into `into`, one after another. With the native addon the positional reads of
   * a batch happen in one call (a pread each); without it, one readSync each.
   */
  readRowsAt(rows: ArrayLike<number>, into: Uint8Array, native: NativeAddon | null = nativeAddon()): Uint8Array {
    if (native) {
      const positions = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) positions[i] = this.dataOffset + rows[i]! * this.rowBytes;
      const read = native.readRows(this.fd, positions, this.rowBytes, into);
      if (read < rows.length) throw new DataError(`${this.path}: ended before row ${rows[read]} (${positions[read]! + this.rowBytes} bytes needed)`);
      return into;
    }
    for (let i = 0; i < rows.length; i++) this.readRows(rows[i]!, 1, into.subarray(i * this.rowBytes, (i + 1) * this.rowBytes));
    return into;
  }

  /** The bytes of `count` rows from row `first` on. */
  readRows(first: number, count: number, into?: Uint8Array): Uint8Array {
    return this.read(this.dataOffset + first * this.rowBytes, count * this.rowBytes, into);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** The native addon when it loads (its reads are the same bytes; only faster), else null. */
export function nativeAddon(): NativeAddon | null {
  const loaded = loadNative();
  return loaded.ok ? loaded.addon : null;
}
