import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateToken } from '@shardlab/protocol';
import { runCli, startCli, tempDir } from './testing/cli';

/*
 * Connections that drop mid-run (issue 20). A FedAvg round is minutes of local steps in one trainer; a connection
 * survives it only if the trainer's event loop still answers keepalive pings. And a connection that does drop
 * (a proxy resets it here) is re-established, the unanswered reports are sent again, and the run ends with the
 * weights it would have had without the cut.
 */
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SMALL = ['--samples', '4000', '--test-samples', '200'];
const summaryOf = (out: string) => JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));

/** Busy processes beside the run, one per core: what a researcher's laptop has running. */
function cpuLoad(n = 2): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

/** A TCP proxy to a target set later, which can reset every connection through it at once (cut()). */
class CuttingProxy {
  target = '';
  cuts = 0;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server, readonly address: string) {}

  static async start(): Promise<CuttingProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const proxy = new CuttingProxy(server, `127.0.0.1:${port}`);
    server.on('connection', (client) => proxy.forward(client));
    return proxy;
  }

  private forward(client: Socket): void {
    const i = this.target.lastIndexOf(':');
    const upstream = connect(Number(this.target.slice(i + 1)), this.target.slice(0, i));
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      this.sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
    }
  }

  /** Resets every open connection (RST to both ends), as a dead NAT entry or a pulled cable followed by a new route would. */
  cut(): void {
    if (this.sockets.size > 0) this.cuts++;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  close(): void {
    this.cut();
    this.server.close();
  }
}

describe('long local work and dropped connections', () => {
  it('FedAvg rounds lasting several keepalive timeouts, with CPU load beside them, complete without losing a connection', async () => {
    const out = join(dir, 'fedavg-long-rounds');
    const load = cpuLoad();
    try {
      // A ping every second, dropped after 3 s without an answer; a round of 2,500 local steps takes ~10 s here
      // (two trainers and two busy processes on two cores). The timeout leaves room for a machine loaded well past
      // its cores, where every process waits its turn for a core: the loop delay counts that wait too.
      const r = await runCli(
        ['run', '--aggregation', 'fedavg', '--local-steps', '2500', '--steps', '2', '--eval-every', '1', '--workers', '2',
          '--keepalive-time', '1', '--keepalive-timeout', '3', '--step-timeout', '600', '--out', out, '--quiet', ...SMALL],
        300_000,
        { ...process.env, SHARDLAB_DEBUG: '1' },
      );
      expect(r.code, r.stderr).toBe(0);
      const summary = summaryOf(out);
      expect(summary).toMatchObject({ status: 'completed', stepsCompleted: 2 });
      // Each round took at least twice the keepalive timeout (its time is in its step record).
      const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.kind === 'step');
      expect(Math.min(...steps.map((s: { stepMs: number }) => s.stepMs))).toBeGreaterThan(6000);
      // No connection was lost (the trainers' logs, shown with SHARDLAB_DEBUG, would say), because no event loop
      // was held as long as the keepalive timeout: the property that keeps every connection alive.
      expect(r.stderr).not.toMatch(/connection to the coordinator dropped/);
      const { coordinator, workers } = summary.eventLoopDelayMs as { coordinator: number; workers: number[] };
      expect(workers).toHaveLength(2);
      for (const ms of [coordinator, ...workers]) expect(ms).toBeLessThan(3000);
      expect(Math.min(...workers)).toBeGreaterThan(0);
    } finally {
      for (const p of load) p.kill('SIGKILL');
    }
  }, 300_000);

  for (const collective of ['relay', 'halving-doubling']) {
    it(`${collective}: trainers whose connections are reset mid-run reconnect, and the weights equal an uncut run's bit for bit`, async () => {
      const settings = ['--workers', '2', '--steps', '120', '--eval-every', '60', '--checksum-every', '1', '--collective', collective, '--optimizer', 'momentum', '--momentum', '0.9', ...SMALL];
      const env = { ...process.env, SHARDLAB_TOKEN: generateToken() };
      const runThrough = async (out: string, cutting: boolean) => {
        const proxy = await CuttingProxy.start();
        const coordinator = await startCli(['coordinator', '--port', '0', '--out', out, ...settings], /listening on (127\.0\.0\.1:\d+)/, 60_000, env);
        proxy.target = coordinator.match[1]!;
        let timer: NodeJS.Timeout | undefined;
        try {
          const trainers = [0, 1].map((i) => runCli(['trainer', '--coordinator', proxy.address, '--name', `t${i}`], 180_000, env));
          if (cutting) {
            // Once the run is under way, reset every trainer's connection every 150 ms until it ends.
            const started = Date.now();
            while (!/all 2 workers joined/.test(coordinator.output()) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 20));
            timer = setInterval(() => proxy.cut(), 150);
          }
          const results = await Promise.all(trainers);
          clearInterval(timer);
          const code = await coordinator.exited;
          return { code, trainers: results, cuts: proxy.cuts, log: coordinator.output() };
        } finally {
          clearInterval(timer);
          proxy.close();
          coordinator.child.kill('SIGKILL');
        }
      };
      const clean = join(dir, `${collective}-clean`);
      const cut = join(dir, `${collective}-cut`);
      const a = await runThrough(clean, false);
      expect(a.code, a.log).toBe(0);
      const b = await runThrough(cut, true);
      expect(b.code, b.log).toBe(0);
      for (const t of b.trainers) expect(t.code, t.stderr).toBe(0);
      // The cuts happened mid-run and were survived by reconnecting, not by luck of timing.
      expect(b.cuts).toBeGreaterThan(2);
      const reconnects = b.trainers.map((t) => (t.stderr.match(/reconnected to the coordinator/g) ?? []).length);
      expect(reconnects.reduce((x, y) => x + y, 0), b.trainers.map((t) => t.stderr).join('\n')).toBeGreaterThan(0);
      expect(summaryOf(cut)).toMatchObject({ status: 'completed', stepsCompleted: 120 });
      // Every step once in metrics.jsonl, and the same final weights as the uncut run.
      const steps = readFileSync(join(cut, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.kind === 'step');
      expect(steps.map((s: { step: number }) => s.step)).toEqual(Array.from({ length: 120 }, (_, i) => i));
      expect(readFileSync(join(cut, 'model', 'weights.bin')).equals(readFileSync(join(clean, 'model', 'weights.bin')))).toBe(true);
    }, 300_000);
  }
});
