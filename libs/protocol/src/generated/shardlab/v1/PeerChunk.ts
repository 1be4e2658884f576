// Original file: proto/shardlab/v1/shardlab.proto


export interface PeerChunk {
  'runId'?: (string);
  /**
   * the sending worker (the one subscribed to)
   */
  'from'?: (number);
  /**
   * which chunk: step / reduction / phase / round / piece
   */
  'key'?: (string);
  /**
   * little-endian float32
   */
  'data'?: (Buffer | Uint8Array | string);
}

export interface PeerChunk__Output {
  'runId': (string);
  /**
   * the sending worker (the one subscribed to)
   */
  'from': (number);
  /**
   * which chunk: step / reduction / phase / round / piece
   */
  'key': (string);
  /**
   * little-endian float32
   */
  'data': (Buffer);
}
