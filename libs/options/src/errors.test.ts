import { describe, expect, it } from 'vitest';
import { bindFailure } from './errors';

describe('bindFailure', () => {
  const flags = { host: '--host', port: '--port' };
  it('says why in words, from the code grpc-js or Node gives', () => {
    expect(bindFailure('No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:80]', flags)).toBe('port in use (--port: pick another, or 0 for any free port)');
    expect(bindFailure('No address added out of total 1 resolved errors: [listen EADDRNOTAVAIL: address not available 10.9.9.9]', flags)).toBe("that address is not one of this machine's (--host)");
    expect(bindFailure('EACCES listen EACCES: permission denied 0.0.0.0:80', flags)).toBe('permission denied (ports below 1024 need root; --port)');
    expect(bindFailure('getaddrinfo ENOTFOUND no-such-host', flags)).toBe('the host name does not resolve (--host)');
    expect(bindFailure('something new', flags)).toBe('something new');
  });
});
