// Original file: proto/shardlab/v1/shardlab.proto


export interface DatasetRequest {
}

export interface DatasetRequest__Output {
}
