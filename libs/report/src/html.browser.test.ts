import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureSweep, type FixtureOptions } from './fixtures';
import { writeReportHtml } from './html';
import { readRun } from './results';

/*
 * report.html opened in a real browser (Debian's chromium, driven by playwright-core; no
 * browser download): every chart draws, nothing is fetched, nothing logs an error. The
 * screenshot stays in the test's temporary directory (its path is logged) for a human look.
 * Without /usr/bin/chromium this fails (CI installs it) unless SHARDLAB_SKIP_BROWSER=1.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// The page's globals these tests touch (the test program is compiled without DOM types).
interface PageCanvas {
  id: string;
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
interface PageChart {
  canvas: PageCanvas;
  data: { datasets: unknown[] };
  getDatasetMeta(i: number): { data: unknown[] };
}
declare const document: { querySelectorAll(selector: 'canvas'): ArrayLike<PageCanvas> };
declare const window: { reportCharts: PageChart[] };

interface Visit {
  page: Page;
  errors: string[];
  requests: string[];
}

describe.skipIf(process.env['SHARDLAB_SKIP_BROWSER'] === '1')('report.html in chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-report-'));
  let browser: BrowserContext | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: this test needs Debian's chromium (apt-get install chromium); set SHARDLAB_SKIP_BROWSER=1 to skip it`);
    }
    // A fresh profile directory each time, so nothing from an earlier session is reused.
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'shardlab-chromium-')), {
      executablePath: CHROMIUM,
      args: ARGS,
      viewport: { width: 1320, height: 900 },
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Writes a fixture sweep and its report.html, opens it, waits for the charts. */
  async function open(name: string, fixture: FixtureOptions): Promise<Visit & { html: string }> {
    const sweepDir = join(dir, name);
    const { info, refs } = writeFixtureSweep(sweepDir, fixture);
    const html = writeReportHtml(join(sweepDir, 'report.html'), info, refs.map(readRun));
    const page = await browser!.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(html).href);
    await page.waitForSelector('body[data-charts]', { timeout: 10_000 }).catch(() => undefined);
    return { page, errors, requests, html };
  }

  /** Per canvas: its id, size, and how many of its pixels are painted. */
  function paintedPixels(page: Page) {
    return page.evaluate(() =>
      Array.from(document.querySelectorAll('canvas')).map((c) => {
        const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
        return { id: c.id, width: c.width, height: c.height, painted };
      }),
    );
  }

  it('draws every chart, offline, without errors', async () => {
    const { page, errors, requests, html } = await open('full', { failedRun: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    const canvases = await paintedPixels(page);
    expect(canvases.map((c) => c.id).sort()).toEqual(
      ['chart-accuracy', 'chart-cosine', 'chart-divergence', 'chart-histogram-0', 'chart-histogram-1', 'chart-histogram-2', 'chart-loss', 'chart-per-class', 'chart-worker-loss'].sort(),
    );
    expect(await page.getAttribute('body', 'data-charts')).toBe(String(canvases.length));
    for (const c of canvases) {
      expect(c.width * c.height, c.id).toBeGreaterThan(200 * 100);
      // Axes and labels alone paint a few percent; data (lines, bands, bars) paints more.
      expect(c.painted, `${c.id}: painted pixels`).toBeGreaterThan(0.03 * c.width * c.height);
    }
    // Every chart holds data: each of its datasets has drawn elements.
    const empty = await page.evaluate(() =>
      window.reportCharts.flatMap((chart) =>
        chart.data.datasets.flatMap((_, i) => (chart.getDatasetMeta(i).data.length === 0 ? [`${chart.canvas.id} dataset ${i}`] : [])),
      ),
    );
    expect(empty).toEqual([]);
    await expect(page.textContent('.failed')).resolves.toContain('seq-cyclic seed 2: step 70: no gradient from worker 2');

    // The per-worker chart follows the select.
    await page.selectOption('#worker-arm', 'label-per-node');
    expect(await page.evaluate(() => window.reportCharts.find((c) => c.canvas.id === 'chart-worker-loss')!.data.datasets.length)).toBe(4);
    expect(errors).toEqual([]);

    const screenshot = join(dir, 'report.png');
    await page.selectOption('#worker-arm', 'iid');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`report: ${html}\nscreenshot: ${screenshot}`);
    await page.close();
  });

  it('says "not recorded" where a metric or file is missing', async () => {
    const { page, errors, requests } = await open('sparse', { weightDivergence: false, histograms: false });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    const ids = (await paintedPixels(page)).map((c) => c.id);
    expect(ids).not.toContain('chart-divergence');
    expect(ids.filter((id) => id.startsWith('chart-histogram'))).toEqual([]);
    const divergenceCard = page.locator('section.card', { has: page.locator('h2', { hasText: 'Weight divergence' }) });
    await expect(divergenceCard.textContent()).resolves.toMatch(/not recorded/);
    await expect(page.locator('.histogram .empty').count()).resolves.toBe(3);
    await page.screenshot({ path: join(dir, 'report-sparse.png'), fullPage: true });
    await page.close();
  });

  it('renders a sweep whose runs all failed before writing anything', async () => {
    const { info } = writeFixtureSweep(join(dir, 'unused'));
    const runs = info.arms.map((a) => readRun({ arm: a.name, seed: 1, dir: join(dir, 'nothing', a.name), error: 'DataError: no such dataset' }));
    const html = writeReportHtml(join(dir, 'failed.html'), info, runs);
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    await page.goto(pathToFileURL(html).href);
    await page.waitForSelector('body[data-charts]', { timeout: 10_000 });
    expect(errors).toEqual([]);
    expect(await page.getAttribute('body', 'data-charts')).toBe('0');
    await expect(page.locator('.failed li').count()).resolves.toBe(3);
    await page.close();
  });
});
