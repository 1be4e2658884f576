// Original file: proto/shardlab/v1/shardlab.proto


export interface StatusRequest {
}

export interface StatusRequest__Output {
}
