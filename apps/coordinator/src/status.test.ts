import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { RequestError, type RequestFault } from '@shardlab/experiment';
import { invalidArgument } from '@shardlab/protocol';
import { statusOf } from './server';

describe('statusOf: the engine\'s faults become gRPC statuses only here, at the edge', () => {
  it.each<[RequestFault, keyof typeof grpc.status]>([
    ['malformed', 'INVALID_ARGUMENT'],
    ['wrong-state', 'FAILED_PRECONDITION'],
    ['not-member', 'PERMISSION_DENIED'],
    ['duplicate', 'ALREADY_EXISTS'],
    ['over-limit', 'RESOURCE_EXHAUSTED'],
  ])('%s -> %s', (fault, status) => {
    const e = statusOf(new RequestError(fault, 'why'));
    expect(e.code).toBe(grpc.status[status]);
    expect(e.details).toBe('why');
  });

  it('codec errors keep their status; anything else is INTERNAL with its message', () => {
    expect(statusOf(invalidArgument('gradient: 3 values, expected 4')).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(statusOf(new Error('boom'))).toMatchObject({ code: grpc.status.INTERNAL, details: 'boom' });
  });
});
