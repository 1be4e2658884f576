import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeAvailable } from '@shardlab/native';
import { DataError } from './errors';
import { RowFile, nativeAddon } from './row-file';

const dir = mkdtempSync(join(tmpdir(), 'shardlab-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of a 13-byte header and 40 rows of 7 bytes, row r holding r * 7 + j (mod 256). */
function file(): string {
  const path = join(dir, 'rows.bin');
  const bytes = Buffer.alloc(13 + 40 * 7);
  for (let r = 0; r < 40; r++) for (let j = 0; j < 7; j++) bytes[13 + r * 7 + j] = (r * 7 + j) % 256;
  writeFileSync(path, bytes);
  return path;
}

describe('RowFile.readRowsAt', () => {
  const rows = [39, 0, 17, 17, 3];
  const expected = rows.flatMap((r) => Array.from({ length: 7 }, (_, j) => (r * 7 + j) % 256));

  it('reads rows by index, in the order asked, the last one included (JS reads)', () => {
    const f = new RowFile(file(), 13, 7);
    expect(Array.from(f.readRowsAt(rows, new Uint8Array(35), null))).toEqual(expected);
    f.close();
  });

  it.skipIf(!nativeAvailable())('gives the same bytes with the native addon, and names the row past the end', () => {
    const native = nativeAddon()!;
    const f = new RowFile(file(), 13, 7);
    expect(Array.from(f.readRowsAt(rows, new Uint8Array(35), native))).toEqual(expected);
    expect(() => f.readRowsAt([2, 40], new Uint8Array(14), native)).toThrow(DataError);
    expect(() => f.readRowsAt([2, 40], new Uint8Array(14), native)).toThrow(/rows\.bin: ended before row 40/);
    expect(() => native.readRows(-1, Float64Array.of(0), 7, new Uint8Array(7))).toThrow(/readRows: /);
    expect(() => native.readRows(0, Float64Array.of(0, 7), 7, new Uint8Array(7))).toThrow('fewer than positions.length rows');
    const table = Float32Array.from({ length: 256 }, (_, k) => k / 255);
    const out = new Float32Array(3);
    native.lookupBytes(Uint8Array.of(0, 128, 255), table, out);
    expect(Array.from(out)).toEqual([table[0], table[128], table[255]]);
    f.close();
  });
});
