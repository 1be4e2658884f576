// Original file: proto/shardlab/v1/shardlab.proto


/**
 * The training data, as the --dataset, --classes and synthetic settings describe it.
 */
export interface DatasetSpec {
  /**
   * "synthetic" | "fashion-mnist" | "fashion-mnist-deformed" | "idx:<dir>"
   */
  'dataset'?: (string);
  /**
   * keep only these classes, relabelled 0..k-1 (empty: all)
   */
  'classes'?: (number)[];
  /**
   * synthetic: the generator's seed
   */
  'seed'?: (number);
  /**
   * synthetic, fashion-mnist-deformed: training samples
   */
  'samples'?: (number);
  /**
   * synthetic: test samples
   */
  'testSamples'?: (number);
  /**
   * synthetic: features per sample
   */
  'features'?: (number);
  /**
   * synthetic: classes
   */
  'numClasses'?: (number);
  /**
   * fashion-mnist-deformed: the strength of the deformations (1: the default)
   */
  'deformation'?: (number | string);
}

/**
 * The training data, as the --dataset, --classes and synthetic settings describe it.
 */
export interface DatasetSpec__Output {
  /**
   * "synthetic" | "fashion-mnist" | "fashion-mnist-deformed" | "idx:<dir>"
   */
  'dataset': (string);
  /**
   * keep only these classes, relabelled 0..k-1 (empty: all)
   */
  'classes': (number)[];
  /**
   * synthetic: the generator's seed
   */
  'seed': (number);
  /**
   * synthetic, fashion-mnist-deformed: training samples
   */
  'samples': (number);
  /**
   * synthetic: test samples
   */
  'testSamples': (number);
  /**
   * synthetic: features per sample
   */
  'features': (number);
  /**
   * synthetic: classes
   */
  'numClasses': (number);
  /**
   * fashion-mnist-deformed: the strength of the deformations (1: the default)
   */
  'deformation': (number);
}
