// Original file: proto/shardlab/v1/shardlab.proto


/**
 * Proof that two copies of a training set are the same, cheap even at 10M samples.
 */
export interface DataFingerprint {
  'samples'?: (number);
  'features'?: (number);
  'classes'?: (number);
  /**
   * SHA-256 of every label byte, in sample order
   */
  'labelsSha256'?: (string);
  /**
   * SHA-256 of the float32 features of 64 samples spread over the set
   */
  'featuresSha256'?: (string);
}

/**
 * Proof that two copies of a training set are the same, cheap even at 10M samples.
 */
export interface DataFingerprint__Output {
  'samples': (number);
  'features': (number);
  'classes': (number);
  /**
   * SHA-256 of every label byte, in sample order
   */
  'labelsSha256': (string);
  /**
   * SHA-256 of the float32 features of 64 samples spread over the set
   */
  'featuresSha256': (string);
}
