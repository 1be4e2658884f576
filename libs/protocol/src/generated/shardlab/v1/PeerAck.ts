// Original file: proto/shardlab/v1/shardlab.proto


export interface PeerAck {
}

export interface PeerAck__Output {
}
