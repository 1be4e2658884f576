import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative, loadNativeFrom, nativeAvailable } from './index';

describe('loadNativeFrom (what a machine without the addon reports)', () => {
  const dirs: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), 'shardlab-native-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('never built: names the Debian package to install', () => {
    const r = loadNativeFrom(fresh());
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('libopenblas-dev') });
  });

  it('the install script recorded why it did not build: that reason, as one line', () => {
    const d = fresh();
    mkdirSync(join(d, 'build'));
    writeFileSync(join(d, 'build', 'status.json'), JSON.stringify({ built: false, reason: 'OpenBLAS development files not found (cblas.h missing): install ...' }));
    expect(loadNativeFrom(d)).toEqual({ ok: false, reason: 'OpenBLAS development files not found (cblas.h missing): install ...' });
  });

  it('a binary that does not load: says which file and why, in one line', () => {
    const d = fresh();
    mkdirSync(join(d, 'build', 'Release'), { recursive: true });
    writeFileSync(join(d, 'build', 'Release', 'shardlab_native.node'), 'not an ELF file');
    const r = loadNativeFrom(d);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('shardlab_native.node failed to load');
      expect(r.reason).not.toContain('\n');
    }
  });
});

const native = loadNative();

describe.runIf(nativeAvailable())('the addon', () => {
  const addon = native.ok ? native.addon : (undefined as never);

  it('sgemm computes op(a) op(b), with and without accumulation', () => {
    // a = [[1, 2, 3], [4, 5, 6]] (2x3), b = [[1, 0], [0, 1], [1, 1]] (3x2): a b = [[4, 5], [10, 11]].
    const a = Float32Array.of(1, 2, 3, 4, 5, 6);
    const b = Float32Array.of(1, 0, 0, 1, 1, 1);
    const c = new Float32Array(4);
    addon.sgemm(false, false, 2, 2, 3, a, b, c, false);
    expect(Array.from(c)).toEqual([4, 5, 10, 11]);
    addon.sgemm(false, false, 2, 2, 3, a, b, c, true);
    expect(Array.from(c)).toEqual([8, 10, 20, 22]);
    // a^T a (3x3) through the transpose flag.
    const ata = new Float32Array(9);
    addon.sgemm(true, false, 3, 3, 2, a, a, ata, false);
    expect(Array.from(ata)).toEqual([17, 22, 27, 22, 29, 36, 27, 36, 45]);
  });

  it('refuses arrays that are too short or of the wrong type, naming the argument', () => {
    const a = new Float32Array(6);
    expect(() => addon.sgemm(false, false, 2, 2, 3, a, a, new Float32Array(3), false)).toThrow('c is too short: need 4, got 3');
    expect(() => addon.sgemm(false, false, 2, 2, 3, new Float64Array(6) as never, a, a, false)).toThrow('a must be a Float32Array');
    expect(() => addon.sgemm(false, false, -1, 2, 3, a, a, a, false)).toThrow('>= 0');
    expect(() => addon.setThreads(0)).toThrow('threads must be >= 1');
  });

  it('deformImages: the identity copies the image times 1/255; a draw pointing outside src or the bank is refused', () => {
    const side = 3;
    const src = Uint8Array.of(0, 10, 20, 30, 40, 50, 60, 70, 255);
    const bank = new Float32Array(2 * side * side).fill(0.5);
    const identity = Float64Array.of(0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0);
    const out = new Float32Array(side * side);
    addon.deformImages(src, bank, side, identity, out);
    expect(Array.from(out)).toEqual(Array.from(src, (v) => Math.fround(v / 255)));
    // A shift by one pixel to the right (source x + 1): the last column reads the zero border.
    addon.deformImages(src, bank, side, Float64Array.of(0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0), out);
    expect(Array.from(out, (v) => Math.round(v * 255))).toEqual([10, 20, 0, 40, 50, 0, 70, 255, 0]);
    expect(() => addon.deformImages(src, bank, side, Float64Array.of(1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0), out)).toThrow('a draw points outside src or the bank');
    expect(() => addon.deformImages(src, bank, side, Float64Array.of(0, 1, 0, 0, 1, 0, 0, 2, 0, 0, 0), out)).toThrow('a draw points outside src or the bank');
    expect(() => addon.deformImages(src, bank, side, new Float32Array(11) as never, out)).toThrow('draws must be a Float64Array');
  });

  it('deformImages: the four-pixel (AVX2) loop gives the scalar loop\'s bytes, tail columns and clamped points included', () => {
    let state = 12345;
    const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32); // [0, 1)
    for (const side of [28, 7]) {
      const area = side * side;
      const images = 5;
      const src = Uint8Array.from({ length: images * area }, () => Math.floor(rand() * 256));
      const bank = Float32Array.from({ length: 4 * area }, () => 2 * rand() - 1);
      const n = 64;
      const draws = new Float64Array(n * 11);
      for (let r = 0; r < n; r++) {
        // Wide rotations, scales and shifts, and displacements of up to 12 pixels: many points land in the border
        // or are clamped at either edge.
        const angle = (rand() - 0.5) * 2;
        const scale = 0.5 + rand();
        draws.set([Math.floor(rand() * images) * area, Math.cos(angle) * scale, -Math.sin(angle), Math.sin(angle), Math.cos(angle) * scale, (rand() - 0.5) * 8, (rand() - 0.5) * 8, Math.floor(rand() * 4), (rand() - 0.5) * 24, Math.floor(rand() * 4), (rand() - 0.5) * 24], r * 11);
      }
      const simd = new Float32Array(n * area);
      const scalar = new Float32Array(n * area);
      addon.deformImages(src, bank, side, draws, simd, true);
      addon.deformImages(src, bank, side, draws, scalar, false);
      expect(Buffer.from(simd.buffer).equals(Buffer.from(scalar.buffer))).toBe(true);
      expect(simd.some((v) => v > 0)).toBe(true);
    }
  });

  it('reports its OpenBLAS build and one thread by default', () => {
    expect(addon.config()).toMatch(/OpenBLAS/);
    expect(addon.getThreads()).toBe(1);
  });
});
