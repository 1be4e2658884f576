// Original file: proto/shardlab/v1/shardlab.proto


export interface NextStepRequest {
  'runId'?: (string);
  'worker'?: (number);
  'step'?: (number);
}

export interface NextStepRequest__Output {
  'runId': (string);
  'worker': (number);
  'step': (number);
}
