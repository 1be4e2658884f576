import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/shardlab';
import rawLoaderOptions from './loader-options.json';

/** The proto file, relative to the proto root (also how the generated files name it). */
export const PROTO_RELATIVE_PATH = 'shardlab/v1/shardlab.proto';

/**
 * Walks up from this module's directory to the first `proto/shardlab/v1/shardlab.proto`.
 * In the monorepo that is libs/protocol/{src,dist}/../../../proto, so the same code works
 * from src (vitest), from dist (node) and through the workspace symlink in node_modules
 * (node resolves symlinks to the real path, so __dirname is inside libs/protocol). A
 * deployment that copies proto/ next to the package is found the same way.
 */
function findProtoRoot(start: string): { root: string; tried: string[] } {
  const tried: string[] = [];
  for (let dir = start; ; dir = dirname(dir)) {
    const root = join(dir, 'proto');
    if (existsSync(join(root, PROTO_RELATIVE_PATH))) return { root, tried: [] };
    tried.push(root);
    if (dirname(dir) === dir) break;
  }
  // Fall back to the monorepo layout; loadProto() reports the miss with the paths tried.
  return { root: join(start, '..', '..', '..', 'proto'), tried };
}
const located = findProtoRoot(__dirname);

/** Directory that holds shardlab/v1/shardlab.proto (the proto include root). */
export const PROTO_ROOT: string = located.root;
/** Absolute path of shardlab.proto. */
export const PROTO_FILE: string = join(PROTO_ROOT, PROTO_RELATIVE_PATH);

/**
 * The decoding options, exactly as in loader-options.json. That file is the single source
 * of truth: tools/gen-proto-types.mjs turns it into proto-loader-gen-types flags, so the
 * generated types describe the objects this loader really produces.
 *   keepCase false  fields are camelCase in JS (run_id -> runId), what the generated types say;
 *   longs String    no 64-bit fields today; if one appears it decodes to a string, not a Long;
 *   enums String    no enums today; names survive logging and JSON better than numbers;
 *   defaults true   unset scalars decode to their proto3 default (0, '', false, []), unset
 *                   messages to null, so handlers never see `undefined` for a scalar;
 *   oneofs true     no oneofs today; a virtual field would name the member that is set.
 */
export interface LoaderOptionsJson {
  keepCase: boolean;
  longs: 'String' | 'Number';
  enums: 'String';
  defaults: boolean;
  oneofs: boolean;
}
export const LOADER_OPTIONS_JSON: Readonly<LoaderOptionsJson> = Object.freeze(rawLoaderOptions as LoaderOptionsJson);

/** loader-options.json in the form @grpc/proto-loader wants (constructors, not their names). */
export function loaderOptions(json: Readonly<LoaderOptionsJson> = LOADER_OPTIONS_JSON): protoLoader.Options {
  const ctor = (key: string, name: string): typeof String | typeof Number => {
    if (name === 'String') return String;
    if (name === 'Number') return Number;
    throw new Error(`loader-options.json: ${key} must be "String" or "Number", got ${JSON.stringify(name)}`);
  };
  return {
    keepCase: json.keepCase,
    longs: ctor('longs', json.longs),
    enums: ctor('enums', json.enums) as typeof String,
    defaults: json.defaults,
    oneofs: json.oneofs,
    includeDirs: [PROTO_ROOT],
  };
}

let cached: { packageDefinition: protoLoader.PackageDefinition; proto: ProtoGrpcType } | null = null;

/** Parses shardlab.proto once per process and returns the typed grpc-js package object. */
export function loadProto(): { packageDefinition: protoLoader.PackageDefinition; proto: ProtoGrpcType } {
  if (cached) return cached;
  if (!existsSync(PROTO_FILE)) {
    throw new Error(
      `shardlab.proto not found; looked for ${PROTO_RELATIVE_PATH} under ${located.tried.join(', ') || PROTO_ROOT}`,
    );
  }
  const packageDefinition = protoLoader.loadSync(PROTO_RELATIVE_PATH, loaderOptions());
  // The cast is the contract of proto-loader-gen-types: ProtoGrpcType describes what
  // loadPackageDefinition returns for this proto loaded with these options.
  const proto = grpc.loadPackageDefinition(packageDefinition) as unknown as ProtoGrpcType;
  cached = { packageDefinition, proto };
  return cached;
}

export type CoordinatorConstructor = ProtoGrpcType['shardlab']['v1']['Coordinator'];
export type CoordinatorServiceDefinition = CoordinatorConstructor['service'];

/**
 * The Coordinator service: `Coordinator` is the client constructor
 * (`new Coordinator(address, credentials, CHANNEL_OPTIONS)`), `service` the definition for
 * `server.addService(service, handlers)` with handlers typed as CoordinatorHandlers.
 */
export function loadCoordinatorService(): { Coordinator: CoordinatorConstructor; service: CoordinatorServiceDefinition } {
  const Coordinator = loadProto().proto.shardlab.v1.Coordinator;
  return { Coordinator, service: Coordinator.service };
}

export type PeerConstructor = ProtoGrpcType['shardlab']['v1']['Peer'];
export type PeerServiceDefinition = PeerConstructor['service'];

/** The trainers' Peer service (ring all-reduce chunks): the client constructor and the service definition. */
export function loadPeerService(): { Peer: PeerConstructor; service: PeerServiceDefinition } {
  const Peer = loadProto().proto.shardlab.v1.Peer;
  return { Peer, service: Peer.service };
}
