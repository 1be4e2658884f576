import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_HEADER, OversizedMessage, RunSecret, TOKEN_HEADER, WORKER_HEADER, authenticatedWorker, hasToken, limitRequests, refusal } from './auth';
import { loadCoordinatorService } from './proto';

const metadata = (entries: Record<string, string>) => {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
};

describe('run token and worker credentials', () => {
  const secret = new RunSecret('the-run-token-0123456789');

  it('open methods need nothing; the rest need the token; acting as a worker needs that worker\'s credential', () => {
    expect(refusal(secret, 'open', metadata({}))).toBeNull();
    expect(refusal(secret, 'token', metadata({}))).toMatchObject({ code: grpc.status.UNAUTHENTICATED, kind: 'no token' });
    expect(refusal(secret, 'token', metadata({ [TOKEN_HEADER]: 'Bearer nope' }))).toMatchObject({ code: grpc.status.UNAUTHENTICATED, kind: 'wrong token' });
    expect(refusal(secret, 'token', metadata({ [TOKEN_HEADER]: 'the-run-token-0123456789' }))).toMatchObject({ kind: 'no token' }); // not a bearer
    const token = { [TOKEN_HEADER]: 'Bearer the-run-token-0123456789' };
    expect(refusal(secret, 'token', metadata(token))).toBeNull();
    expect(refusal(secret, 'worker', metadata(token))).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    const as2 = { ...token, [WORKER_HEADER]: '2', [CREDENTIAL_HEADER]: secret.credentialFor(2) };
    expect(refusal(secret, 'worker', metadata(as2))).toBeNull();
    expect(authenticatedWorker(secret, metadata(as2))).toBe(2);
    // Worker 2's credential does not make you worker 3; nor does a credential from another coordinator's key.
    expect(refusal(secret, 'worker', metadata({ ...as2, [WORKER_HEADER]: '3' }))).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    const other = new RunSecret('the-run-token-0123456789');
    expect(refusal(secret, 'worker', metadata({ ...token, [WORKER_HEADER]: '2', [CREDENTIAL_HEADER]: other.credentialFor(2) }))).not.toBeNull();
    expect(hasToken(secret, metadata(token))).toBe(true);
    expect(hasToken(secret, metadata({}))).toBe(false);
  });

  it('without a secret everything passes and no worker is proven', () => {
    expect(refusal(null, 'worker', metadata({}))).toBeNull();
    expect(hasToken(null, metadata({}))).toBe(true);
    expect(authenticatedWorker(null, metadata({ [WORKER_HEADER]: '1' }))).toBeNull();
  });
});

describe('limitRequests', () => {
  it('hands over an OversizedMessage instead of decoding a request over its limit, and decodes the rest as before', () => {
    const { service } = loadCoordinatorService();
    const limited = limitRequests(service, { Join: 10 });
    const small = service.Join.requestSerialize({ protocolVersion: 2 });
    expect(limited.Join.requestDeserialize(small)).toEqual(service.Join.requestDeserialize(small));
    const big = service.Join.requestSerialize({ protocolVersion: 2, name: 'x'.repeat(100) });
    const refused = limited.Join.requestDeserialize(big) as unknown;
    expect(refused).toBeInstanceOf(OversizedMessage);
    expect(refused).toMatchObject({ method: 'Join', bytes: big.length, limit: 10 });
    expect(limited.GetStatus).toBe(service.GetStatus);
  });
});
