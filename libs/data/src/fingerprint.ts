import { createHash } from 'node:crypto';
import type { Dataset } from './dataset';

/**
 * What proves that two processes hold the same training set (the coordinator's and a trainer's copy, feed
 * "ids"): its sizes, every label, and the features of a few samples spread over it. Cheap at 10M samples
 * (hashing 10 MB of labels, ~64 feature rows), and any difference that matters for training (other files,
 * other classes kept, another synthetic seed or size, other preprocessing) changes at least one field.
 */
export interface DataFingerprint {
  samples: number;
  features: number;
  classes: number;
  /** SHA-256 (hex) of the label bytes, in sample order. */
  labelsSha256: string;
  /** SHA-256 (hex) of the little-endian float32 features of FINGERPRINT_SAMPLES samples spread evenly over the set. */
  featuresSha256: string;
}

export const FINGERPRINT_SAMPLES = 64;

/** The ids whose features are hashed: FINGERPRINT_SAMPLES of them (fewer for a smaller set), first and last included. */
export function fingerprintIds(size: number): number[] {
  const n = Math.min(size, FINGERPRINT_SAMPLES);
  if (n <= 1) return n === 1 ? [0] : [];
  return Array.from({ length: n }, (_, i) => Math.round((i * (size - 1)) / (n - 1)));
}

export function dataFingerprint(ds: Dataset): DataFingerprint {
  const labels = createHash('sha256').update(ds.labels).digest('hex');
  const x = ds.features(fingerprintIds(ds.size));
  const features = createHash('sha256').update(Buffer.from(x.buffer, x.byteOffset, x.byteLength)).digest('hex');
  return { samples: ds.size, features: ds.numFeatures, classes: ds.numClasses, labelsSha256: labels, featuresSha256: features };
}

/**
 * Every way `theirs` differs from `ours`, one phrase each ("samples 60000 here, 59999 there"); empty when they
 * match. Hashes are shown by their first 12 hex digits.
 */
export function fingerprintDifferences(ours: DataFingerprint, theirs: DataFingerprint): string[] {
  const out: string[] = [];
  for (const key of ['samples', 'features', 'classes'] as const) {
    if (ours[key] !== theirs[key]) out.push(`${key} ${ours[key]} here, ${theirs[key]} there`);
  }
  const short = (h: string) => (h ? h.slice(0, 12) : '(none)');
  if (ours.labelsSha256 !== theirs.labelsSha256) out.push(`labels differ (sha256 ${short(ours.labelsSha256)} here, ${short(theirs.labelsSha256)} there)`);
  if (ours.featuresSha256 !== theirs.featuresSha256) out.push(`features differ (sha256 of ${FINGERPRINT_SAMPLES} sampled rows ${short(ours.featuresSha256)} here, ${short(theirs.featuresSha256)} there)`);
  return out;
}
