import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkExposure, isLoopbackHost, readToken, resolveSecurity } from './security';

describe('security settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-security-'));

  it('reads the token from --token-file, else SHARDLAB_TOKEN, and refuses a guessable one', () => {
    writeFileSync(join(dir, 'token'), 'a'.repeat(32) + '\n');
    expect(readToken(join(dir, 'token'), {})).toBe('a'.repeat(32));
    expect(readToken(undefined, { SHARDLAB_TOKEN: 'b'.repeat(20) })).toBe('b'.repeat(20));
    expect(readToken(undefined, {})).toBeNull();
    expect(readToken(undefined, { SHARDLAB_TOKEN: '' })).toBeNull();
    for (const [name, text] of [['empty', ''], ['blank', ' \n\t\n']]) {
      writeFileSync(join(dir, name), text);
      expect(() => readToken(join(dir, name), {})).toThrow(/^--token-file .*: the file holds no token \(it is empty or only whitespace\)/);
    }
    expect(() => readToken(undefined, { SHARDLAB_TOKEN: 'short' })).toThrow(/^SHARDLAB_TOKEN: the token has 5 characters; use at least 16/);
    expect(() => readToken(join(dir, 'missing'), {})).toThrow(/^--token-file: cannot read .*missing: ENOENT/);
    writeFileSync(join(dir, 'two'), 'a'.repeat(20) + '\n' + 'b'.repeat(20));
    expect(() => readToken(join(dir, 'two'), {})).toThrow(/one word/);
  });

  it('TLS: certificate and key go together', () => {
    writeFileSync(join(dir, 'cert.pem'), 'CERT');
    expect(() => resolveSecurity({ tlsCert: join(dir, 'cert.pem') }, {})).toThrow(/--tls-cert and --tls-key go together/);
    expect(resolveSecurity({ tlsCa: join(dir, 'cert.pem') }, {}).tls).toEqual({ cert: null, key: null, ca: Buffer.from('CERT') });
    expect(resolveSecurity({}, {}).tls).toBeNull();
  });

  it('a non-loopback listener needs a token or an explicit --insecure', () => {
    const none = resolveSecurity({}, {});
    expect(() => checkExposure('0.0.0.0', none, '--host')).toThrow(/^--host 0.0.0.0: listening beyond this machine without a run token/);
    expect(() => checkExposure('127.0.0.1', none, '--host')).not.toThrow();
    expect(() => checkExposure('0.0.0.0', { ...none, insecure: true }, '--host')).not.toThrow();
    expect(() => checkExposure('0.0.0.0', { ...none, token: 'x'.repeat(16) }, '--host')).not.toThrow();
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'coordinator', '128.0.0.1'].some(isLoopbackHost)).toBe(false);
  });
});
