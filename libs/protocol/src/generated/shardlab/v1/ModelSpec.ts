// Original file: proto/shardlab/v1/shardlab.proto

import type { LayersModel as _shardlab_v1_LayersModel, LayersModel__Output as _shardlab_v1_LayersModel__Output } from '../../shardlab/v1/LayersModel';

export interface ModelSpec {
  /**
   * "mlp" | "cnn" | "layers" (a TensorFlow.js Layers model the coordinator loaded, --model DIR)
   */
  'kind'?: (string);
  'inputSize'?: (number);
  'hidden'?: (number)[];
  'classes'?: (number);
  /**
   * every replica draws the same initial weights from it
   */
  'initSeed'?: (number);
  /**
   * "none" | "batch" | "sync-batch" | "group" | "layer"
   */
  'norm'?: (string);
  /**
   * kind "layers" only
   */
  'layers'?: (_shardlab_v1_LayersModel | null);
}

export interface ModelSpec__Output {
  /**
   * "mlp" | "cnn" | "layers" (a TensorFlow.js Layers model the coordinator loaded, --model DIR)
   */
  'kind': (string);
  'inputSize': (number);
  'hidden': (number)[];
  'classes': (number);
  /**
   * every replica draws the same initial weights from it
   */
  'initSeed': (number);
  /**
   * "none" | "batch" | "sync-batch" | "group" | "layer"
   */
  'norm': (string);
  /**
   * kind "layers" only
   */
  'layers': (_shardlab_v1_LayersModel__Output | null);
}
