import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { SKIP_BROWSER, launchChromium, watchedPage } from '@shardlab/testing';
import type { MetricsRecord, StepRecord } from '@shardlab/report';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, tempDir } from './testing/cli';

/*
 * The live dashboard of a real run (coordinator and trainer processes, gRPC), watched in headless
 * Chromium: the page is opened mid-run, gets the history first, then sees the charts grow; no
 * console errors, and no request goes anywhere but the dashboard on 127.0.0.1.
 */

// What the page exposes to tests (window.dashboard, see libs/report/src/browser/dashboard.page.ts).
interface PageChart {
  data: { datasets: { label: string; data: { x: number; y: number | null }[] }[] };
}
declare const window: { dashboard: { charts: Record<'loss' | 'accuracy' | 'cosine' | 'speed', PageChart> } };
declare const document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }> };

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stepsWritten(out: string): number {
  const path = join(out, 'metrics.jsonl');
  if (!existsSync(path)) return 0;
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('"kind":"step"')).length;
}

async function until<T>(what: string, probe: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const lossSteps = (page: Page) => page.evaluate(() => window.dashboard.charts.loss.data.datasets[0]?.data.map((p) => p.x) ?? []);

describe.skipIf(SKIP_BROWSER)('the live dashboard in chromium', () => {
  let browser: BrowserContext | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows a running run: history first, then growing charts, every step once, nothing fetched from elsewhere', async () => {
    const out = join(dir, 'run');
    const steps = 500;
    const { child, match, exited, output } = await startCli(
      ['run', '--workers', '2', '--steps', String(steps), '--eval-every', '50', '--samples', '4000', '--out', out, '--quiet', '--dashboard', '0'],
      /dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/,
    );
    try {
      // Open the page mid-run, so that the history matters.
      await until('30 steps in metrics.jsonl', () => stepsWritten(out), (n) => n >= 30);
      const { page, errors, refused } = await watchedPage(browser!, (url) => url.protocol === 'data:' || (url.protocol === 'http:' && url.hostname === '127.0.0.1'));
      await page.goto(match[1]!);
      const first = await until('the history on the page', () => lossSteps(page), (xs) => xs.length >= 30);
      expect(first[0]).toBe(0);
      const grown = await until('the loss chart to grow', () => lossSteps(page), (xs) => xs.length > first.length + 20);
      expect(grown.length).toBeGreaterThan(first.length);

      // The run ends: the page says so and holds every step exactly once, as metrics.jsonl does.
      expect(await exited, output()).toBe(0);
      await page.waitForSelector('#connection.over', { timeout: 10_000 });
      const final = await until('every step', () => lossSteps(page), (xs) => xs.length >= steps, 5000);
      expect(final).toEqual(Array.from({ length: steps }, (_, i) => i));
      const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsRecord);
      const lastLoss = records.filter((r): r is StepRecord => r.kind === 'step').at(-1)!.loss;
      const drawn = await page.evaluate(() => {
        const c = window.dashboard.charts;
        return {
          lastLoss: c.loss.data.datasets[0]!.data.at(-1)!.y,
          lossLines: c.loss.data.datasets.map((d) => d.label),
          accuracyLines: c.accuracy.data.datasets.map((d) => d.label),
          evals: c.accuracy.data.datasets[0]!.data.map((p) => p.x),
          speedPoints: c.speed.data.datasets[0]!.data.length,
          workers: Array.from(document.querySelectorAll('#workers tbody tr')).map((tr) => tr.textContent ?? ''),
          runs: Array.from(document.querySelectorAll('#runs tbody tr')).map((tr) => tr.textContent ?? ''),
        };
      });
      expect(drawn.lastLoss).toBe(lastLoss);
      expect(drawn.lossLines).toEqual(['mean of the workers', 'worker 0', 'worker 1']);
      expect(drawn.accuracyLines).toEqual(['test accuracy', 'class 0', 'class 1', 'class 2', 'class 3']);
      expect(drawn.evals).toEqual([50, 100, 150, 200, 250, 300, 350, 400, 450, 500]);
      expect(drawn.speedPoints).toBeGreaterThan(0);
      expect(drawn.workers).toHaveLength(2);
      for (const w of drawn.workers) expect(w).toMatch(/joined/);
      expect(drawn.runs).toHaveLength(1);
      expect(drawn.runs[0]).toMatch(/^iidcompleted500\/500/);
      expect(errors).toEqual([]);
      expect(refused).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  }, 180_000);
});
