import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListenError, bindFailure, isLoopbackHost } from '@shardlab/options';
import type { LiveEvent } from '@shardlab/report';
import type { DashboardHub } from './hub';
import { dashboardPage } from './page';

/*
 * The dashboard's HTTP shell: GET / serves the page, GET /events the feed as server-sent events.
 * Like Jupyter, it prints a URL with a fresh token and answers nothing without it (checked before
 * anything else), since loopback is not private on a shared machine; it binds 127.0.0.1 unless
 * told otherwise, and on loopback it answers only Host headers that name loopback (DNS rebinding).
 */

export interface DashboardOptions {
  hub: DashboardHub;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 = any free port. */
  port: number;
  /** Default: a fresh random token. */
  token?: string;
}

export interface Dashboard {
  /** The URL to open, token included. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Above this many bytes queued for one watcher it is dropped (its browser reconnects and gets the history). */
const MAX_QUEUED_BYTES = 4 << 20;
const HEARTBEAT_MS = 15_000;
const digest = (text: string) => createHash('sha256').update(text).digest();

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(18).toString('base64url');
  const expected = digest(token);
  const loopback = isLoopbackHost(host);
  const streams = new Set<ServerResponse>();

  const refuse = (res: ServerResponse, code: number, text: string) => {
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(text + '\n');
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const given = url.searchParams.get('token') ?? '';
    if (!timingSafeEqual(digest(given), expected)) return refuse(res, 401, 'shardlab dashboard: open the URL with its token, as printed by the command');
    if (loopback) {
      // The whole name, exactly: 127.0.0.1.evil.example starts like loopback and is not (DNS rebinding).
      const name = (req.headers.host ?? '').replace(/:\d{1,5}$/, '');
      if (!isLoopbackHost(name)) return refuse(res, 403, 'shardlab dashboard: Host must name loopback');
    }
    if (req.method !== 'GET') return refuse(res, 405, 'shardlab dashboard: GET only');
    if (url.pathname === '/') {
      const nonce = randomBytes(16).toString('base64');
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        // Nothing but this page's own script and its own event stream: no request can leave the host.
        'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(dashboardPage(opts.hub.title, nonce));
      return;
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write('retry: 2000\n\n');
      streams.add(res);
      const send = (event: LiveEvent): boolean => {
        if (res.destroyed || res.writableLength > MAX_QUEUED_BYTES) {
          res.destroy();
          return false;
        }
        const { type, ...data } = event;
        res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
        return true;
      };
      const unsubscribe = opts.hub.subscribe(send);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      res.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(res);
      });
      return;
    }
    refuse(res, 404, 'shardlab dashboard: not found');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    throw new ListenError(`--dashboard: cannot listen on ${host}:${opts.port}: ${bindFailure(`${err.code ?? ''} ${err.message}`, { host: '--dashboard-host', port: '--dashboard' })}`);
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    close: async () => {
      // Tell open pages the feed is over (they stop reconnecting), then close.
      for (const res of streams) {
        res.end('event: bye\ndata: {}\n\n');
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
