/**
 * --classes: a view of a dataset that keeps only some of its classes. The kept classes are
 * relabelled by their position in the list (classes [3, 0] makes original 3 the new 0), and the
 * same mapping is applied to train and test so the two stay one task.
 */
import type { Dataset } from './dataset';
import { checkSampleId } from './dataset';
import { DataError } from './errors';

/** Throws a DataError naming --classes unless `classes` is a valid subset of 0..numClasses-1. */
export function validateClasses(classes: readonly number[], numClasses: number, datasetName: string): void {
  if (classes.length < 2) {
    throw new DataError(`--classes: need at least 2 classes to train a classifier, got ${classes.length}`);
  }
  const seen = new Set<number>();
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new DataError(`--classes: ${c} is out of range for ${datasetName} (valid: 0-${numClasses - 1})`);
    }
    if (seen.has(c)) throw new DataError(`--classes: class ${c} is listed twice`);
    seen.add(c);
  }
}

export class ClassSubset implements Dataset {
  readonly size: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly labels: Uint8Array;
  /** ids[newId] is the sample's id in the base dataset. */
  private readonly ids: Uint32Array;

  constructor(
    private readonly base: Dataset,
    readonly classes: readonly number[],
  ) {
    validateClasses(classes, base.numClasses, base.name);
    // Original label -> new label, or -1 for dropped classes.
    const relabel = new Int16Array(base.numClasses).fill(-1);
    classes.forEach((c, k) => (relabel[c] = k));

    let size = 0;
    for (let i = 0; i < base.size; i++) if (relabel[base.labels[i]] >= 0) size++;
    this.ids = new Uint32Array(size);
    this.labels = new Uint8Array(size);
    for (let i = 0, n = 0; i < base.size; i++) {
      const k = relabel[base.labels[i]];
      if (k < 0) continue;
      this.ids[n] = i;
      this.labels[n] = k;
      n++;
    }
    this.size = size;
    this.numClasses = classes.length;
    this.classNames = classes.map((c) => base.classNames[c]);
  }

  get name(): string {
    return this.base.name;
  }
  get split(): 'train' | 'test' {
    return this.base.split;
  }
  get numFeatures(): number {
    return this.base.numFeatures;
  }

  features(ids: ArrayLike<number>): Float32Array {
    const baseIds = new Uint32Array(ids.length);
    for (let r = 0; r < ids.length; r++) {
      checkSampleId(ids[r], this.size, `${this.name} ${this.split} (class subset)`);
      baseIds[r] = this.ids[ids[r]];
    }
    return this.base.features(baseIds);
  }
}
