// Original file: proto/shardlab/v1/shardlab.proto


/**
 * The training data, as the --dataset, --classes and synthetic settings describe it.
 */
export interface DatasetSpec {
  /**
   * "synthetic" | "fashion-mnist" | "idx:<dir>"
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
   * synthetic: training samples
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
}

/**
 * The training data, as the --dataset, --classes and synthetic settings describe it.
 */
export interface DatasetSpec__Output {
  /**
   * "synthetic" | "fashion-mnist" | "idx:<dir>"
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
   * synthetic: training samples
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
}
