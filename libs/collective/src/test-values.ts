/* Inputs and comparisons shared by this library's tests (excluded from its build, tsconfig.lib.json). */

/** Deterministic values of mixed sign and magnitude, so float32 rounding actually happens. */
export function data(rank: number, n: number): Float32Array {
  let s = (rank + 1) * 2654435761;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * 10 ** ((s % 7) - 3);
  });
}

/** Index of the first element whose bits differ (the shorter length if only the lengths do), or -1 (toEqual on 10^5-element arrays is slow). */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return i;
  return x.length === y.length ? -1 : Math.min(x.length, y.length);
}
