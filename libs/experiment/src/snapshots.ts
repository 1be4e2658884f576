import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Parameter snapshots at evaluation steps, so one run (the IID reference of a sweep) can serve
 * as w_iid for the weight divergence of others: ||w - w_iid|| / ||w_iid|| (Zhao et al. 2018,
 * "Federated Learning with Non-IID Data"). Raw little-endian float32, one file per step.
 */
function snapshotPath(dir: string, step: number): string {
  return join(dir, 'snapshots', `step-${step}.f32`);
}

export function writeSnapshot(dir: string, step: number, params: Float32Array): void {
  mkdirSync(join(dir, 'snapshots'), { recursive: true });
  writeFileSync(snapshotPath(dir, step), Buffer.from(params.buffer, params.byteOffset, params.byteLength));
}

/** The reference parameters at `step`, or null when that run has no snapshot there (or another model size). */
export function readSnapshot(dir: string, step: number, length: number): Float32Array | null {
  const path = snapshotPath(dir, step);
  if (!existsSync(path)) return null;
  const bytes = readFileSync(path);
  if (bytes.length !== length * 4) return null;
  const out = new Float32Array(length);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function weightDivergence(w: Float32Array, reference: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < w.length; i++) {
    const d = w[i]! - reference[i]!;
    diff += d * d;
    norm += reference[i]! * reference[i]!;
  }
  return Math.sqrt(diff) / Math.sqrt(norm);
}
