import { isIP } from 'node:net';
import * as tls from 'node:tls';
import { splitHostPort } from './address';

/** The TLS material of a client (as channelCredentials takes it). */
export interface ClientTls {
  cert: Buffer | null;
  key: Buffer | null;
  ca: Buffer | null;
}

/** How long the diagnosis waits for a handshake, and then for the server's verdict on our certificate. */
const HANDSHAKE_MS = 3000;
const VERDICT_MS = 500;

/**
 * Why a gRPC channel to `address` could not connect, when TLS is the reason: grpc-js only says "unavailable", so the
 * same handshake is made once more with Node's TLS and the same material, and its error named (a certificate that
 * does not name the host, an unknown CA, a client certificate the server requires, one side speaking TLS and the
 * other not). Null when the handshake works (the reason lies elsewhere) or nothing answers at all.
 */
export function tlsFailureReason(address: string, material: ClientTls | null): Promise<string | null> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve) => {
    let settled = false;
    const done = (reason: string | null) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(reason);
    };
    const socket = tls.connect({
      host,
      port,
      // Without our own CA the question is only whether the server speaks TLS at all.
      ...(material?.ca ? { ca: material.ca, cert: material.cert ?? undefined, key: material.key ?? undefined, rejectUnauthorized: true } : { rejectUnauthorized: false }),
      ...(isIP(host) ? {} : { servername: host }),
      ALPNProtocols: ['h2'],
    });
    socket.setTimeout(HANDSHAKE_MS, () => done(null));
    socket.on('secureConnect', () => {
      if (!material?.ca) return done('the coordinator speaks TLS: give this side --tls-ca (and --tls-cert, --tls-key if it requires client certificates)');
      // TLS 1.3: a server that requires a client certificate says so after the handshake; wait for its verdict.
      setTimeout(() => done(null), VERDICT_MS);
    });
    socket.on('data', () => undefined);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const message = err.message.replace(/^[^:]*routines:[^:]*:/, '');
      if (!material?.ca) return done(null); // plaintext on both sides, or nothing there: not a TLS matter
      if (/wrong version number|packet length too long|unknown protocol/i.test(err.message)) {
        return done('TLS handshake failed: the coordinator does not speak TLS (start it with --tls-cert and --tls-key, or leave out --tls-ca here)');
      }
      if (/certificate required|alert number 116/i.test(err.message)) {
        return done('TLS: the coordinator requires a client certificate (mutual TLS): give --tls-cert and --tls-key');
      }
      if (/bad certificate|unknown ca|alert number 4[28]/i.test(err.message)) return done(`TLS: the coordinator refused this side's certificate (${message})`);
      done(`TLS: the coordinator's certificate is not accepted: ${err.code ?? ''}${err.code ? ': ' : ''}${message}`);
    });
  });
}
