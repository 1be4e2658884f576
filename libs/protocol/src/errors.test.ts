import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  WireError,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  isWireError,
  notFound,
  permissionDenied,
  resourceExhausted,
  toServiceError,
} from './errors';
import { PROTOCOL_VERSION, checkProtocolVersion } from './version';

describe('WireError', () => {
  it('helpers carry their status code and message', () => {
    const cases: [WireError, status][] = [
      [invalidArgument('a'), status.INVALID_ARGUMENT],
      [failedPrecondition('b'), status.FAILED_PRECONDITION],
      [permissionDenied('c'), status.PERMISSION_DENIED],
      [alreadyExists('d'), status.ALREADY_EXISTS],
      [resourceExhausted('e'), status.RESOURCE_EXHAUSTED],
      [notFound('f'), status.NOT_FOUND],
    ];
    for (const [err, code] of cases) {
      expect(err).toBeInstanceOf(Error);
      expect(err).toBeInstanceOf(WireError);
      expect(err.name).toBe('WireError');
      expect(err.code).toBe(code);
      expect(err.details).toBe(err.message);
    }
  });

  it('toServiceError keeps a WireError and maps anything else to INTERNAL', () => {
    const wire = permissionDenied('worker 7 never joined');
    expect(toServiceError(wire)).toBe(wire);
    const internal = toServiceError(new TypeError('x is undefined'));
    expect(internal.code).toBe(status.INTERNAL);
    expect(internal.details).toBe('x is undefined');
    expect(toServiceError('boom').code).toBe(status.INTERNAL);
    expect(toServiceError('boom').details).toBe('non-error thrown: boom');
  });

  it('recognises a WireError from another copy of the module structurally', () => {
    const foreign = Object.assign(new Error('nope'), { name: 'WireError', code: status.NOT_FOUND });
    expect(isWireError(foreign)).toBe(true);
    expect(toServiceError(foreign).code).toBe(status.NOT_FOUND);
    expect(isWireError(Object.assign(new Error('x'), { code: 5 }))).toBe(false);
  });
});

describe('checkProtocolVersion', () => {
  it('is version 10 (elastic membership among trainers; 9: a loaded Layers model and the buffers rule) and accepts it', () => {
    expect(PROTOCOL_VERSION).toBe(10);
    expect(() => checkProtocolVersion(10)).not.toThrow();
  });

  it('rejects another version with FAILED_PRECONDITION stating both', () => {
    try {
      checkProtocolVersion(1);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(WireError);
      expect((err as WireError).code).toBe(status.FAILED_PRECONDITION);
      expect((err as WireError).message).toBe(
        `protocol version mismatch: trainer speaks shardlab.v1 protocol 1, coordinator speaks ${PROTOCOL_VERSION}`,
      );
    }
  });

  it('words the message from the trainer side and flags an unset field', () => {
    expect(() => checkProtocolVersion(2, 'coordinator')).toThrow(
      `protocol version mismatch: coordinator speaks shardlab.v1 protocol 2, trainer speaks ${PROTOCOL_VERSION}`,
    );
    expect(() => checkProtocolVersion(0)).toThrow(`trainer speaks shardlab.v1 protocol 0 (unset), coordinator speaks ${PROTOCOL_VERSION}`);
  });
});
