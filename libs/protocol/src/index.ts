export { PROTOCOL_VERSION, checkProtocolVersion, type Peer } from './version';
export {
  WireError,
  isWireError,
  invalidArgument,
  failedPrecondition,
  permissionDenied,
  alreadyExists,
  resourceExhausted,
  notFound,
  unavailable,
  toServiceError,
} from './errors';
export {
  HOST_LITTLE_ENDIAN,
  encodeTensor,
  decodeTensor,
  firstNonFinite,
  assertFinite,
  type WireTensor,
  type TensorLike,
  type TensorExpectation,
} from './tensor';
export {
  FLOW_CONTROL_WINDOW,
  MAX_MESSAGE_BYTES,
  SERVER_OPTIONS,
  CHANNEL_OPTIONS,
  serverOptions,
  channelOptions,
  coordinatorRequestLimits,
  peerRequestLimits,
  REDUCTION_VALUES_PER_WORKER_STEP,
} from './options';
export { YIELD_EVERY_MS, yieldIfDue, LoopDelayMonitor } from './event-loop';
export {
  TOKEN_HEADER,
  WORKER_HEADER,
  CREDENTIAL_HEADER,
  RunSecret,
  OversizedMessage,
  UnsafeMessage,
  generateToken,
  presentedToken,
  hasToken,
  authenticatedWorker,
  credentialVerifier,
  verifiedPeer,
  refusal,
  guardInterceptor,
  limitRequests,
  identityInterceptor,
  serverCredentials,
  channelCredentials,
  type Access,
  type GuardPolicy,
  type CallerIdentity,
} from './auth';
export {
  PROTO_ROOT,
  PROTO_FILE,
  PROTO_RELATIVE_PATH,
  LOADER_OPTIONS_JSON,
  loaderOptions,
  loadProto,
  loadCoordinatorService,
  loadPeerService,
  type LoaderOptionsJson,
  type PeerConstructor,
  type PeerServiceDefinition,
  type CoordinatorConstructor,
  type CoordinatorServiceDefinition,
} from './proto';
export { encodePeerChunk, peerServiceForEncodedChunks, type OutgoingPeerChunk } from './peer-chunk';
export type * from './types';
export { tlsFailureReason, type ClientTls } from './tls-diagnosis';
export { joinHostPort, splitHostPort } from './address';
