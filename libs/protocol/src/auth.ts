import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { oversizedShape } from './shape-check';
import * as grpc from '@grpc/grpc-js';

/**
 * Who may call what, checked in a server interceptor on the call's metadata, before its request message
 * is read off the wire: grpc-js resumes the HTTP/2 stream (and so buffers and decodes the message) only
 * once the interceptor passes the metadata on, so an outsider's frame is never decoded, whatever its size.
 *
 *   run token        `authorization: Bearer <token>`: the run secret (--token-file / SHARDLAB_TOKEN), on
 *                    every call of a member and of an operator (status with details, the Peer service);
 *   worker credential `x-shardlab-worker: <index>` + `x-shardlab-credential: <hex>`: issued by Join, an
 *                    HMAC of the worker index under a key only the coordinator holds, so a member cannot
 *                    forge another member's credential; required on the calls that act as a worker.
 *
 * The handler then checks that the worker index in the request equals the authenticated one
 * (`authenticatedWorker`), so one member cannot act as another.
 */
export const TOKEN_HEADER = 'authorization';
export const WORKER_HEADER = 'x-shardlab-worker';
export const CREDENTIAL_HEADER = 'x-shardlab-credential';

/** open: anyone (health checks); token: the run token; worker: the token and a worker credential. */
export type Access = 'open' | 'token' | 'worker';

/** A fresh random run token (embedded runs make one; clusters share one through a file or the environment). */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The run's secrets: the token every caller presents and the key that signs worker credentials. */
export class RunSecret {
  private readonly tokenDigest: Buffer;

  constructor(
    token: string,
    /** Signs worker credentials; random per coordinator unless given. */
    private readonly credentialKey: Buffer = randomBytes(32),
  ) {
    this.tokenDigest = digest(token);
  }

  /** Constant-time: compares SHA-256 digests, so neither length nor prefix leaks through timing. */
  tokenMatches(presented: string): boolean {
    return timingSafeEqual(this.tokenDigest, digest(presented));
  }

  /**
   * The credential of a worker slot. `generation` counts the trainers that held the slot: a replacement
   * (--lost-worker replace) gets a new one, so the lost trainer's credential stops working if it comes back.
   */
  credentialFor(worker: number, generation = 0): string {
    return createHmac('sha256', this.credentialKey).update(`shardlab worker ${worker} generation ${generation}`).digest('hex');
  }

  credentialMatches(worker: number, presented: string, generation = 0): boolean {
    return timingSafeEqual(digest(this.credentialFor(worker, generation)), digest(presented));
  }
}

/**
 * What a trainer is told of another worker's credential, so that it can check that worker's Peer subscription
 * without being able to present the credential itself: its SHA-256, in hex.
 */
export function credentialVerifier(credential: string): string {
  return digest(credential).toString('hex');
}

/**
 * The worker a Peer call's credential proves, checked against the verifiers the coordinator sent (one a worker,
 * by index): the claimed worker when its credential hashes to its verifier, else null.
 */
export function verifiedPeer(metadata: grpc.Metadata, verifiers: readonly string[]): number | null {
  const text = first(metadata, WORKER_HEADER);
  const worker = Number(text);
  const expected = /^\d{1,6}$/.test(text) ? verifiers[worker] : undefined;
  if (expected === undefined || !/^[0-9a-f]{64}$/.test(expected)) return null;
  return timingSafeEqual(digest(first(metadata, CREDENTIAL_HEADER)), Buffer.from(expected, 'hex')) ? worker : null;
}

const first = (metadata: grpc.Metadata, key: string): string => {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : '';
};

/** The bearer token of a call's metadata, '' when absent. */
export function presentedToken(metadata: grpc.Metadata): string {
  const value = first(metadata, TOKEN_HEADER);
  return value.startsWith('Bearer ') ? value.slice(7) : '';
}

/** True when the call carries the run token (always true when the run has none). */
export function hasToken(secret: RunSecret | null, metadata: grpc.Metadata): boolean {
  return secret === null || secret.tokenMatches(presentedToken(metadata));
}

/**
 * The worker index a call proved with its credential, or null when the run has no token (then nothing
 * can be proved and the request's own worker field is all there is). Only meaningful after the guard
 * let the call through, which has checked the credential.
 */
export function authenticatedWorker(secret: RunSecret | null, metadata: grpc.Metadata): number | null {
  if (secret === null) return null;
  const w = Number(first(metadata, WORKER_HEADER));
  return Number.isInteger(w) && w >= 0 ? w : null;
}

/** Why a call's metadata does not grant `access`, or null when it does. */
export function refusal(
  secret: RunSecret | null,
  access: Access,
  metadata: grpc.Metadata,
  generationOf: (worker: number) => number = () => 0,
): { code: grpc.status; kind: string; details: string } | null {
  if (access === 'open' || secret === null) return null;
  const token = presentedToken(metadata);
  if (!token) {
    return { code: grpc.status.UNAUTHENTICATED, kind: 'no token', details: 'this run requires its token: call metadata "authorization: Bearer <token>" (--token-file or SHARDLAB_TOKEN)' };
  }
  if (!secret.tokenMatches(token)) return { code: grpc.status.UNAUTHENTICATED, kind: 'wrong token', details: 'wrong run token' };
  if (access === 'token') return null;
  const workerText = first(metadata, WORKER_HEADER);
  const worker = Number(workerText);
  if (!/^\d{1,6}$/.test(workerText) || !secret.credentialMatches(worker, first(metadata, CREDENTIAL_HEADER), generationOf(worker))) {
    return {
      code: grpc.status.PERMISSION_DENIED,
      kind: 'bad worker credential',
      details: `this call acts as a worker: it needs "${WORKER_HEADER}" and the "${CREDENTIAL_HEADER}" that Join issued for that worker`,
    };
  }
  return null;
}

/** A request whose encoded size exceeds its method's limit: the deserializer returns this instead of decoding it. */
export class OversizedMessage {
  constructor(
    readonly method: string,
    readonly bytes: number,
    readonly limit: number,
  ) {}
}

/** What limitRequests hands the guard instead of a request whose Tensor shapes would balloon when decoded. */
export class UnsafeMessage {
  constructor(
    readonly method: string,
    readonly details: string,
  ) {}
}

/** What the guard needs to know about a service. */
export interface GuardPolicy {
  secret: RunSecret | null;
  /** Access per method name (e.g. 'Join'); methods not listed need the token. */
  access: Readonly<Record<string, Access>>;
  /** Hears every refusal (kind: e.g. 'wrong token', 'oversized Join'), to count them. */
  onRefused?: (kind: string, method: string) => void;
  /** The current generation of a worker slot (see RunSecret.credentialFor); 0 when slots are never refilled. */
  generationOf?: (worker: number) => number;
}

const methodName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * The server interceptor: refuses a call whose metadata does not grant its method's access before
 * the request is read, and a request that came in over its method's size limit (see `limitRequests`)
 * before it is decoded.
 */
export function guardInterceptor(policy: GuardPolicy): grpc.ServerInterceptor {
  return (descriptor, call) => {
    const method = methodName(descriptor.path);
    const access = policy.access[method] ?? 'token';
    const refuse = (code: grpc.status, kind: string, details: string) => {
      policy.onRefused?.(kind, method);
      call.sendStatus({ code, details, metadata: null });
    };
    // The call's metadata, for streams: a worker credential is checked again with every message after the first,
    // since the slot it names may have been refilled (a new generation) while the stream stayed open.
    let opened: grpc.Metadata | null = null;
    let messages = 0;
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, pass) => {
              const denied = refusal(policy.secret, access, metadata, policy.generationOf);
              if (denied) refuse(denied.code, denied.kind, `${method}: ${denied.details}`);
              else {
                opened = metadata;
                pass(metadata);
              }
            })
            .withOnReceiveMessage((message, pass) => {
              const again = ++messages > 1 && access === 'worker' && opened ? refusal(policy.secret, access, opened, policy.generationOf) : null;
              if (message instanceof OversizedMessage) {
                refuse(grpc.status.RESOURCE_EXHAUSTED, `oversized ${method}`, `${method}: a request of ${message.bytes} bytes exceeds this method's limit of ${message.limit} bytes`);
              } else if (message instanceof UnsafeMessage) {
                refuse(grpc.status.INVALID_ARGUMENT, `malformed ${method}`, `${method}: ${message.details}; refused before decoding`);
              } else if (again) refuse(again.code, again.kind, `${method}: ${again.details} (no longer valid: this worker slot has a new holder)`);
              else pass(message);
            })
            .build(),
        );
      },
    });
  };
}

/**
 * A copy of a service definition whose request deserializers refuse (without decoding) a message
 * longer than its method's limit, handing the guard an OversizedMessage instead: a Join or a status
 * request is tiny, a gradient is the model's size, and nobody needs 64 MiB to say hello.
 */
export function limitRequests<S extends grpc.ServiceDefinition>(service: S, limits: Readonly<Record<string, number>>): S {
  const limited: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service as grpc.ServiceDefinition)) {
    const limit = limits[name];
    limited[name] =
      limit === undefined
        ? def
        : {
            ...def,
            requestDeserialize: (bytes: Buffer) => {
              if (bytes.length > limit) return new OversizedMessage(name, bytes.length, limit);
              const shape = oversizedShape(name, bytes);
              return shape ? new UnsafeMessage(name, shape) : def.requestDeserialize(bytes);
            },
          };
  }
  return limited as unknown as S;
}

/** Client side: what a caller presents; `worker` is filled in once Join has issued a credential. */
export interface CallerIdentity {
  token: string | null;
  worker?: { index: number; credential: string } | null;
}

/** A client interceptor that adds the caller's token and worker credential to every call's metadata. */
export function identityInterceptor(identity: CallerIdentity): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (identity.token) metadata.set(TOKEN_HEADER, `Bearer ${identity.token}`);
        if (identity.worker) {
          metadata.set(WORKER_HEADER, String(identity.worker.index));
          metadata.set(CREDENTIAL_HEADER, identity.worker.credential);
        }
        next(metadata, listener);
      },
    });
}

/** Server credentials: TLS when a certificate is given (mutual TLS when a CA is given too), else plaintext. */
export function serverCredentials(tls: { cert: Buffer | null; key: Buffer | null; ca: Buffer | null } | null): grpc.ServerCredentials {
  if (!tls?.cert || !tls.key) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], tls.ca !== null);
}

/** Channel credentials: TLS when a CA is given (with this process's certificate for mutual TLS), else plaintext. */
export function channelCredentials(tls: { cert: Buffer | null; key: Buffer | null; ca: Buffer | null } | null): grpc.ChannelCredentials {
  if (!tls?.ca) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert);
}
