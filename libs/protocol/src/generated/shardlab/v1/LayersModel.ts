// Original file: proto/shardlab/v1/shardlab.proto

import type { WeightShape as _shardlab_v1_WeightShape, WeightShape__Output as _shardlab_v1_WeightShape__Output } from '../../shardlab/v1/WeightShape';
import type { Tensor as _shardlab_v1_Tensor, Tensor__Output as _shardlab_v1_Tensor__Output } from '../../shardlab/v1/Tensor';

/**
 * A loaded TensorFlow.js Layers model: every replica builds the network from the topology and starts from the
 * weights the files held. The weight lists let a trainer check the network it built before it trains.
 */
export interface LayersModel {
  /**
   * model.json's modelTopology, JSON text
   */
  'topology'?: (string);
  /**
   * the trainable weights, in the network's order
   */
  'params'?: (_shardlab_v1_WeightShape)[];
  /**
   * the non-trainable weights (BatchNorm running statistics), in order
   */
  'buffers'?: (_shardlab_v1_WeightShape)[];
  /**
   * flat, in the order of params
   */
  'initialParams'?: (_shardlab_v1_Tensor | null);
  /**
   * flat, in the order of buffers
   */
  'initialBuffers'?: (_shardlab_v1_Tensor | null);
  /**
   * one sample's input shape; features arrive flat and are reshaped to it
   */
  'inputShape'?: (number)[];
}

/**
 * A loaded TensorFlow.js Layers model: every replica builds the network from the topology and starts from the
 * weights the files held. The weight lists let a trainer check the network it built before it trains.
 */
export interface LayersModel__Output {
  /**
   * model.json's modelTopology, JSON text
   */
  'topology': (string);
  /**
   * the trainable weights, in the network's order
   */
  'params': (_shardlab_v1_WeightShape__Output)[];
  /**
   * the non-trainable weights (BatchNorm running statistics), in order
   */
  'buffers': (_shardlab_v1_WeightShape__Output)[];
  /**
   * flat, in the order of params
   */
  'initialParams': (_shardlab_v1_Tensor__Output | null);
  /**
   * flat, in the order of buffers
   */
  'initialBuffers': (_shardlab_v1_Tensor__Output | null);
  /**
   * one sample's input shape; features arrive flat and are reshaped to it
   */
  'inputShape': (number)[];
}
