import { createHash } from 'node:crypto';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Content hash of the parameters: sha256 over their little-endian float32 bytes, first
 * 16 hex digits (64 bits: a collision between two diverged replicas is not a practical
 * concern). Equal iff bit-identical, which is stricter than numerically equal on purpose:
 * -0 and +0, or two NaN payloads, hash differently; replicas that drift apart by one ulp
 * are exactly what this is meant to catch. On a big-endian host the bytes are swapped
 * first, so the same parameters give the same checksum on every machine. With `buffers` (BatchNorm running
 * statistics that a --buffers rule makes equal on every worker) their bytes follow the parameters'.
 */
export function paramChecksum(params: Float32Array, buffers?: Float32Array): string {
  const hash = createHash('sha256');
  for (const values of buffers && buffers.length > 0 ? [params, buffers] : [params]) {
    let bytes: Uint8Array = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    if (!HOST_LITTLE_ENDIAN) {
      const le = new Uint8Array(values.byteLength);
      const view = new DataView(le.buffer);
      for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
      bytes = le;
    }
    hash.update(bytes);
  }
  return hash.digest('hex').slice(0, 16);
}

function sameLength(what: string, a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/**
 * Euclidean norm, accumulated in float64. Squares of float32 values (at most ~1.2e77)
 * cannot overflow a double, so no scaling pass is needed. Four running sums: one sum waits
 * on each addition's latency (0.15 ms for a 109k-value gradient, which a relay coordinator
 * takes four times a step); four overlap. Deterministic: the same vector gives the same bits.
 */
export function l2Norm(v: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = v.length;
  const end = n - (n % 4);
  for (let i = 0; i < end; i += 4) {
    s0 += v[i]! * v[i]!;
    s1 += v[i + 1]! * v[i + 1]!;
    s2 += v[i + 2]! * v[i + 2]!;
    s3 += v[i + 3]! * v[i + 3]!;
  }
  for (let i = end; i < n; i++) s0 += v[i]! * v[i]!;
  return Math.sqrt(s0 + s1 + (s2 + s3));
}

/**
 * max_i |a_i - b_i|; 0 for identical or empty vectors. NaN if any pair differs by NaN
 * (a NaN on either side, or opposite infinities): a divergence check must not skip those,
 * which a plain `d > max` comparison silently would. Equal infinities count as 0.
 */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  sameLength('maxAbsDiff', a, b);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const d = Math.abs(x - y);
    if (Number.isNaN(d)) return NaN;
    if (d > max) max = d;
  }
  return max;
}

/**
 * a.b / (|a| |b|) in float64, in [-1, 1]; NaN when either vector is all zeros (the
 * angle is undefined; 0 would claim "orthogonal").
 */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  sameLength('cosineSimilarity', a, b);
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa === 0 || bb === 0) return NaN;
  // Clamp: rounding can push |cos| a hair past 1 for (anti)parallel vectors.
  return Math.max(-1, Math.min(1, dot / (Math.sqrt(aa) * Math.sqrt(bb))));
}
