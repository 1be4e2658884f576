import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DashboardHub } from './hub';
import { startDashboard, type Dashboard } from './server';

/** GET on the dashboard with a given Host header; resolves with the status and up to `bytes` of the body. */
function get(url: string, host?: string, bytes = 4096): Promise<{ status: number; type: string; body: string; csp: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
        if (body.length >= bytes || body.includes('event: run')) res.destroy();
      });
      const done = () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body, csp: String(res.headers['content-security-policy'] ?? '') });
      res.on('end', done);
      res.on('close', done);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard server', () => {
  let dashboard: Dashboard | undefined;
  afterEach(async () => dashboard?.close());

  it('binds 127.0.0.1, prints a URL with a token and answers nothing without it', async () => {
    const hub = new DashboardHub('run iid', 'run');
    dashboard = await startDashboard({ hub, port: 0 });
    const url = new URL(dashboard.url);
    expect(url.hostname).toBe('127.0.0.1');
    const token = url.searchParams.get('token')!;
    expect(token.length).toBeGreaterThanOrEqual(20);
    const base = `http://127.0.0.1:${dashboard.port}`;
    for (const path of ['/', '/events', '/?token=', `/?token=${token}x`, `/events?token=${token.slice(1)}`, '/nope']) {
      const r = await get(base + path);
      expect(r.status, path).toBe(401);
      expect(r.body).not.toContain('run iid');
    }
    // With the token: the page, and only to Host headers that name loopback (no DNS rebinding).
    const page = await get(dashboard.url);
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    expect(page.csp).toMatch(/default-src 'none'/);
    expect(page.csp).toMatch(/connect-src 'self'/);
    expect((await get(dashboard.url, 'attacker.example')).status).toBe(403);
    for (const evil of ['127.0.0.1.evil.example', '127.0.0.1.evil.example:8080', 'localhost.evil.example', '127.evil', '[::1].evil']) {
      expect((await get(dashboard.url, evil)).status, evil).toBe(403);
    }
    for (const good of ['127.0.0.1', `127.0.0.1:${dashboard.port}`, 'localhost', `localhost:${dashboard.port}`, '[::1]', `[::1]:${dashboard.port}`, '127.0.0.2']) {
      expect((await get(dashboard.url, good)).status, good).toBe(200);
    }
    expect((await get(`${base}/other?token=${token}`)).status).toBe(404);
  });

  it('streams the history then live events as server-sent events', async () => {
    const hub = new DashboardHub('run iid', 'run');
    const o = hub.observer('iid', 'iid', 1);
    o.started({ workers: 1, steps: 2, classNames: ['a'] });
    dashboard = await startDashboard({ hub, port: 0 });
    const token = new URL(dashboard.url).searchParams.get('token')!;
    const stream = get(`http://127.0.0.1:${dashboard.port}/events?token=${token}`);
    await new Promise((r) => setTimeout(r, 100));
    o.ended({ status: 'completed', error: null, finalTestAccuracy: 1 });
    const r = await stream;
    expect(r.type).toBe('text/event-stream');
    const hello = r.body.match(/event: hello\ndata: (.*)\n\n/);
    expect(JSON.parse(hello![1]!)).toMatchObject({ title: 'run iid', runs: [{ id: 'iid', status: 'running' }] });
    expect(r.body.indexOf('event: hello')).toBeLessThan(r.body.indexOf('event: run'));
  });

  it('says clearly when the port is taken', async () => {
    const hub = new DashboardHub('x', 'run');
    dashboard = await startDashboard({ hub, port: 0 });
    await expect(startDashboard({ hub, port: dashboard.port })).rejects.toThrow(/--dashboard: cannot listen on 127.0.0.1:\d+: port in use \(--dashboard: pick another, or 0 for any free port\)/);
  });
});
