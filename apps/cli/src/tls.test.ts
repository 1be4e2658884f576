import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHANNEL_OPTIONS, loadCoordinatorService, type RunStatus__Output } from '@shardlab/protocol';
import { runCli, startCli, tempDir } from './testing/cli';

/*
 * Mutual TLS end to end: a coordinator with a certificate that requires client certificates, two trainer
 * processes that verify it and present their own, the ring between them over TLS too, and a run token.
 * The certificates are made here with openssl (a CA, and one certificate for 127.0.0.1 used by every process).
 */
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CA `name` and a certificate it signed for `altNames` (default: this machine's loopback). */
function makeCertificates(name = 'ca', altNames = 'IP:127.0.0.1,DNS:localhost'): { ca: string; cert: string; key: string } {
  const at = (f: string) => join(dir, f);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=shardlab test CA ${name}`);
  openssl('req', ...ec, '-keyout', `${name}-node.key`, '-out', `${name}-node.csr`, '-subj', '/CN=localhost');
  writeFileSync(at(`${name}.ext`), `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl('x509', '-req', '-in', `${name}-node.csr`, '-CA', `${name}.pem`, '-CAkey', `${name}.key`, '-CAcreateserial', '-out', `${name}-node.pem`, '-days', '2', '-extfile', `${name}.ext`);
  return { ca: at(`${name}.pem`), cert: at(`${name}-node.pem`), key: at(`${name}-node.key`) };
}

describe('TLS', () => {
  it('a ring run over mutual TLS with a token completes; a plaintext client and a client without a certificate get nowhere', async () => {
    const { ca, cert, key } = makeCertificates();
    const tls = ['--tls-cert', cert, '--tls-key', key, '--tls-ca', ca];
    const env = { ...process.env, SHARDLAB_TOKEN: 'tls-test-token-0123456789' };
    const out = join(dir, 'run');
    const c = await startCli(
      ['coordinator', '--port', '0', '--workers', '2', '--steps', '20', '--collective', 'ring', '--samples', '2000', '--test-samples', '100', '--eval-every', '20', '--out', out, ...tls],
      /listening on 127\.0\.0\.1:(\d+)/,
      60_000,
      env,
    );
    const address = `127.0.0.1:${c.match[1]}`;
    const { Coordinator } = loadCoordinatorService();
    const status = (creds: grpc.ChannelCredentials) => {
      const client = new Coordinator(address, creds, CHANNEL_OPTIONS);
      return new Promise<RunStatus__Output>((resolve, reject) =>
        client.getStatus({}, { deadline: Date.now() + 5000 }, (err, res) => {
          client.close();
          if (err) reject(err);
          else resolve(res!);
        }),
      );
    };
    try {
      // Plaintext, and TLS without a client certificate: no answer at all, not even the open status.
      await expect(status(grpc.credentials.createInsecure())).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(status(grpc.credentials.createSsl(readFileSync(ca)))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      // With a certificate the CA signed: the open status.
      const open = await status(grpc.credentials.createSsl(readFileSync(ca), readFileSync(key), readFileSync(cert)));
      expect(open).toMatchObject({ state: 'waiting', workers: 2, runId: '' });

      const trainers = [0, 1].map((i) => runCli(['trainer', '--coordinator', address, '--name', `tls-${i}`, ...tls], 120_000, env));
      const done = await Promise.all(trainers);
      for (const t of done) expect(t.code, t.stderr).toBe(0);
      expect(await c.exited).toBe(0);
    } finally {
      c.child.kill('SIGKILL');
    }
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'completed', stepsCompleted: 20, collective: 'ring' });
  }, 180_000);

  it('a trainer that cannot connect says why when TLS is the reason: the host name, an unknown CA, a required client certificate, one side without TLS', async () => {
    const good = makeCertificates('good');
    const other = makeCertificates('other');
    const elsewhere = makeCertificates('elsewhere', 'DNS:elsewhere.example');
    const env = { ...process.env, SHARDLAB_TOKEN: 'tls-test-token-0123456789' };
    const coordinator = async (tls: string[]) => {
      const c = await startCli(['coordinator', '--port', '0', '--workers', '1', '--steps', '1', '--out', join(dir, `diag-${Math.random()}`), ...tls], /listening on 127\.0\.0\.1:(\d+)/, 60_000, env);
      return { address: `127.0.0.1:${c.match[1]}`, stop: () => c.child.kill('SIGKILL') };
    };
    const trainer = (address: string, tls: string[]) => runCli(['trainer', '--coordinator', address, '--connect-timeout', '2', ...tls], 60_000, env);
    const cases: { server: string[]; client: (c: typeof good) => string[]; reason: RegExp }[] = [
      { server: ['--tls-cert', elsewhere.cert, '--tls-key', elsewhere.key], client: () => ['--tls-ca', elsewhere.ca], reason: /ERR_TLS_CERT_ALTNAME_INVALID.*127\.0\.0\.1/ },
      { server: ['--tls-cert', good.cert, '--tls-key', good.key], client: () => ['--tls-ca', other.ca], reason: /certificate is not accepted: .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify)/i },
      { server: ['--tls-cert', good.cert, '--tls-key', good.key, '--tls-ca', good.ca], client: () => ['--tls-ca', good.ca], reason: /requires a client certificate \(mutual TLS\): give --tls-cert and --tls-key/ },
      { server: ['--tls-cert', good.cert, '--tls-key', good.key], client: () => [], reason: /the coordinator speaks TLS: give this side --tls-ca/ },
      { server: [], client: () => ['--tls-ca', good.ca], reason: /the coordinator does not speak TLS/ },
    ];
    for (const { server, client, reason } of cases) {
      const c = await coordinator(server);
      try {
        const t = await trainer(c.address, client(good));
        expect(t.code, t.stderr).not.toBe(0);
        expect(t.stderr).toMatch(/cannot reach the coordinator at 127\.0\.0\.1:\d+ within 2 s \(--connect-timeout\): /);
        expect(t.stderr).toMatch(reason);
      } finally {
        c.stop();
      }
    }
  }, 240_000);
});
