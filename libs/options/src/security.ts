import { readFileSync } from 'node:fs';
import { ConfigError } from './check';
import type { OptionSpec } from './options';

/** The token's environment variable: what containers and embedded runs use instead of a file. */
export const TOKEN_ENV = 'SHARDLAB_TOKEN';
/** A shorter token is refused: it could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * The flags of every process that listens or dials: the run token, TLS material, and the explicit
 * opt-out for an unauthenticated non-loopback listener. One set for coordinator, trainer and status,
 * so a cluster passes the same files to every process.
 */
export const SECURITY_OPTIONS: readonly OptionSpec[] = [
  { key: 'tokenFile', type: 'string', valueHint: 'FILE', help: `file holding the run token (default: the ${TOKEN_ENV} environment variable); every call must carry it` },
  { key: 'tlsCert', type: 'string', valueHint: 'FILE', help: 'TLS: this process\'s certificate (PEM): the coordinator\'s server certificate; a trainer\'s client certificate for mutual TLS and its ring peer server\'s' },
  { key: 'tlsKey', type: 'string', valueHint: 'FILE', help: 'TLS: the private key of --tls-cert (PEM)' },
  { key: 'tlsCa', type: 'string', valueHint: 'FILE', help: 'TLS: the CA certificate (PEM) that signed the other side\'s certificate; a server given one requires client certificates (mutual TLS)' },
  { key: 'insecure', type: 'bool', default: false, help: 'allow listening on a non-loopback address without a run token (anyone who reaches the port can join)' },
];

export interface TlsFiles {
  cert: Buffer | null;
  key: Buffer | null;
  ca: Buffer | null;
}

export interface Security {
  token: string | null;
  /** null: plaintext. */
  tls: TlsFiles | null;
  insecure: boolean;
}

function readFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The token from --token-file, else SHARDLAB_TOKEN, else null; a short or multi-line token is refused, and so is a
 * token file with nothing in it (asked for a token, running without one would be the wrong way to fail). An empty
 * SHARDLAB_TOKEN counts as unset, as shells use it.
 */
export function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  const [where, raw] = tokenFile !== undefined ? [`--token-file ${tokenFile}`, readFile('--token-file', tokenFile).toString('utf8')] : [TOKEN_ENV, env[TOKEN_ENV]];
  if (tokenFile !== undefined && raw!.trim() === '') throw new ConfigError(`${where}: the file holds no token (it is empty or only whitespace); write one, e.g. openssl rand -hex 16 > ${tokenFile}`);
  if (raw === undefined || raw === '') return null;
  const token = raw.trim();
  if (/\s/.test(token)) throw new ConfigError(`${where}: the token must be one word without spaces or line breaks`);
  if (token.length < MIN_TOKEN_LENGTH) throw new ConfigError(`${where}: the token has ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} (e.g. openssl rand -hex 16)`);
  return token;
}

/** The security settings from parsed flag values (tokenFile, tlsCert, tlsKey, tlsCa, insecure). */
export function resolveSecurity(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Security {
  const token = readToken(values['tokenFile'] as string | undefined, env);
  const [cert, key, ca] = (['tlsCert', 'tlsKey', 'tlsCa'] as const).map((k) => values[k] as string | undefined);
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('--tls-cert and --tls-key go together: give both or neither');
  const tls =
    cert !== undefined || ca !== undefined
      ? { cert: cert ? readFile('--tls-cert', cert) : null, key: key ? readFile('--tls-key', key) : null, ca: ca ? readFile('--tls-ca', ca) : null }
      : null;
  return { token, tls, insecure: values['insecure'] === true };
}

/** True for an address only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Every listening port is a door: a non-loopback address needs a token, or --insecure saying explicitly
 * that anyone who reaches it may join. `flag` names the address flag in the message.
 */
export function checkExposure(host: string, security: Security, flag: string): void {
  if (isLoopbackHost(host) || security.token !== null || security.insecure) return;
  throw new ConfigError(
    `${flag} ${host}: listening beyond this machine without a run token would let anyone who reaches the port join or stop the run; give a token (--token-file FILE or ${TOKEN_ENV}), or --insecure to accept that`,
  );
}
