// Original file: proto/shardlab/v1/shardlab.proto


export interface Tensor {
  'shape'?: (number)[];
  /**
   * little-endian float32, row-major, 4 * product(shape) bytes
   */
  'data'?: (Buffer | Uint8Array | string);
}

export interface Tensor__Output {
  'shape': (number)[];
  /**
   * little-endian float32, row-major, 4 * product(shape) bytes
   */
  'data': (Buffer);
}
