// Original file: proto/shardlab/v1/shardlab.proto


export interface GradientAck {
}

export interface GradientAck__Output {
}
