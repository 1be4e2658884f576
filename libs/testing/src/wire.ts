import {
  loadCoordinatorService,
  type AllReduceRequest,
  type AllReduceRequest__Output,
  type GradientUpdate,
  type GradientUpdate__Output,
  type JoinRequest,
  type JoinRequest__Output,
} from '@shardlab/protocol';

/**
 * Requests as the coordinator's handlers receive them: encoded and decoded by the generated codec, so every field a
 * test leaves out arrives with its proto3 default, exactly what the step engine gets from grpc-js.
 */
export const received = {
  join: (r: JoinRequest): JoinRequest__Output => through('Join', r),
  push: (u: GradientUpdate): GradientUpdate__Output => through('PushGradient', u),
  allReduce: (r: AllReduceRequest): AllReduceRequest__Output => through('AllReduce', r),
};

function through<T>(method: 'Join' | 'PushGradient' | 'AllReduce', request: unknown): T {
  const definition = loadCoordinatorService().service[method];
  return definition.requestDeserialize(definition.requestSerialize(request as never)) as T;
}
