// Original file: proto/shardlab/v1/shardlab.proto

import type { DatasetSpec as _shardlab_v1_DatasetSpec, DatasetSpec__Output as _shardlab_v1_DatasetSpec__Output } from '../../shardlab/v1/DatasetSpec';

/**
 * What a trainer must know before it joins.
 */
export interface DatasetDescription {
  /**
   * "ids" | "features"
   */
  'feed'?: (string);
  /**
   * what to load (feed "ids")
   */
  'dataset'?: (_shardlab_v1_DatasetSpec | null);
  /**
   * "relay" | "ring" | "halving-doubling": unless "relay", start the Peer service and join with its address
   */
  'collective'?: (string);
}

/**
 * What a trainer must know before it joins.
 */
export interface DatasetDescription__Output {
  /**
   * "ids" | "features"
   */
  'feed': (string);
  /**
   * what to load (feed "ids")
   */
  'dataset': (_shardlab_v1_DatasetSpec__Output | null);
  /**
   * "relay" | "ring" | "halving-doubling": unless "relay", start the Peer service and join with its address
   */
  'collective': (string);
}
