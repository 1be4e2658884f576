import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { SKIP_BROWSER, launchChromium, watchedPage } from '@shardlab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureSweep, type FixtureOptions } from './fixtures';
import { writeReportHtml } from './html';
import { readRun, type RunResult, type SweepInfo } from './results';
import { emaSmooth } from './series';

/*
 * report.html opened in a real browser (Debian's chromium, driven by playwright-core; no
 * browser download): every chart draws, nothing is fetched, nothing logs an error. The
 * screenshot stays in the test's temporary directory (its path is logged) for a human look.
 * Without /usr/bin/chromium this fails (CI installs it) unless SHARDLAB_SKIP_BROWSER=1.
 */

// The page's globals these tests touch (the test program is compiled without DOM types).
interface PageCanvas {
  id: string;
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
interface PageChart {
  canvas: PageCanvas & { toDataURL(): string };
  data: { datasets: { label: string; arm?: string; band?: boolean; seedCurve?: boolean; data: { x: number; y: number | null }[]; raw?: { y: (number | null)[] } }[] };
  options: { scales: Record<string, { type: string }> };
  legend: { legendItems: { text: string }[]; legendHitBoxes: { left: number; top: number; width: number; height: number }[] };
  getDatasetMeta(i: number): { data: unknown[] };
  isDatasetVisible(i: number): boolean;
}
declare const document: { querySelectorAll(selector: 'canvas'): ArrayLike<PageCanvas> };
declare const window: { reportCharts: PageChart[]; reportArms: string[] };

interface Visit {
  page: Page;
  errors: string[];
  requests: string[];
}

describe.skipIf(SKIP_BROWSER)('report.html in chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-report-'));
  let browser: BrowserContext | undefined;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Writes a fixture sweep and its report.html (`arms` renames and repeats the fixture's arms), opens it, waits for the charts. */
  async function open(name: string, fixture: FixtureOptions, arms?: readonly string[]): Promise<Visit & { html: string }> {
    const sweepDir = join(dir, name);
    let { info, runs } = (({ info, refs }) => ({ info, runs: refs.map(readRun) }))(writeFixtureSweep(sweepDir, fixture));
    if (arms) ({ info, runs } = repeatArms(info, runs, arms));
    const html = writeReportHtml(join(sweepDir, 'report.html'), info, runs);
    const { page, errors, refused: requests } = await watchedPage(browser!, (url) => url.protocol === 'file:' || url.protocol === 'data:');
    await page.goto(pathToFileURL(html).href);
    await page.waitForSelector('body[data-charts]', { timeout: 10_000 }).catch(() => undefined);
    return { page, errors, requests, html };
  }

  /** The fixture's arms repeated under the given names (arm i is a copy of fixture arm i mod 3). */
  function repeatArms(info: SweepInfo, runs: readonly RunResult[], names: readonly string[]): { info: SweepInfo; runs: RunResult[] } {
    const source = info.arms;
    return {
      info: { ...info, reference: names[0]!, arms: names.map((name, i) => ({ name, settings: source[i % source.length]!.settings })) },
      runs: names.flatMap((name, i) => runs.filter((r) => r.arm === source[i % source.length]!.name).map((r) => ({ ...r, arm: name }))),
    };
  }

  /** Per chart: the arms whose mean line is visible, the legend's entries, and a hash of the picture. */
  async function chartState(page: Page, id: string) {
    // Away from the filter: hovering an arm there highlights it in the charts.
    await page.mouse.move(0, 0);
    const state = await page.evaluate((id) => {
      const chart = window.reportCharts.find((c) => c.canvas.id === id)!;
      const arms = chart.data.datasets.flatMap((d, i) => (d.arm !== undefined && !d.band && chart.isDatasetVisible(i) ? [d.arm] : []));
      return { arms, legend: chart.legend.legendItems.map((l) => l.text), image: chart.canvas.toDataURL() };
    }, id);
    return { ...state, image: createHash('sha256').update(state.image).digest('hex').slice(0, 16) };
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
      [
        'chart-accuracy', 'chart-cosine', 'chart-divergence', 'chart-histogram-0', 'chart-histogram-1', 'chart-histogram-2', 'chart-loss', 'chart-per-class', 'chart-worker-loss',
        'chart-class-accuracy-0', 'chart-class-accuracy-1', 'chart-class-accuracy-2',
      ].sort(),
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

    // The arm filter: unticking an arm takes it out of every chart (and its legend) and hides
    // its label mix; ticking it again brings the same picture back.
    const all = ['iid', 'label-per-node', 'seq-cyclic'];
    const before = await chartState(page, 'chart-accuracy');
    expect(before.arms).toEqual(all);
    await page.locator('#arm-filter label[data-arm="seq-cyclic"] input').uncheck();
    expect(await page.evaluate(() => window.reportArms)).toEqual(['iid', 'label-per-node']);
    for (const id of ['chart-loss', 'chart-accuracy', 'chart-cosine', 'chart-divergence', 'chart-per-class']) {
      const state = await chartState(page, id);
      expect(state.arms, id).toEqual(['iid', 'label-per-node']);
      expect(state.legend, id).not.toContain('seq-cyclic');
    }
    const hidden = await chartState(page, 'chart-accuracy');
    expect(hidden.legend).toEqual(['iid', 'label-per-node', 'target 70%']);
    expect(hidden.image).not.toBe(before.image);
    await expect(page.locator('.histogram[data-arm="seq-cyclic"]').isVisible()).resolves.toBe(false);
    await expect(page.locator('.histogram[data-arm="iid"]').isVisible()).resolves.toBe(true);
    await page.locator('#arm-filter label[data-arm="seq-cyclic"] input').check();
    const again = await chartState(page, 'chart-accuracy');
    expect(again.arms).toEqual(all);
    expect(again.image).toBe(before.image);
    // The per-worker select keeps to the shown arms.
    await page.locator('#arm-filter label[data-arm="label-per-node"] input').uncheck();
    await expect(page.inputValue('#worker-arm')).resolves.toBe('iid');
    await page.locator('#arm-filter label[data-arm="label-per-node"] input').check();
    // "none" empties the charts without errors.
    await page.click('#arm-filter button[data-arms="none"]');
    expect((await chartState(page, 'chart-loss')).arms).toEqual([]);
    await page.click('#arm-filter button[data-arms="all"]');
    expect((await chartState(page, 'chart-loss')).arms).toEqual(all);
    expect(errors).toEqual([]);

    const screenshot = join(dir, 'report.png');
    await page.selectOption('#worker-arm', 'iid');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`report: ${html}\nscreenshot: ${screenshot}`);
    await page.close();
  });

  it('view controls: log loss axis, smoothing, seed curves; per-class accuracy over time per arm', async () => {
    const { page, errors, requests } = await open('view', {});
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    const lossOf = (id: string) =>
      page.evaluate((id) => {
        const chart = window.reportCharts.find((c) => c.canvas.id === id)!;
        const mean = chart.data.datasets.find((d) => d.label === 'seq-cyclic')!;
        return {
          type: chart.options.scales['y']!.type,
          mean: mean.data.map((p) => p.y),
          raw: mean.raw!.y,
          seeds: chart.data.datasets.flatMap((d, i) => (d.seedCurve && chart.isDatasetVisible(i) ? [d.label] : [])),
        };
      }, id);

    // Log axis on the loss charts, and back.
    const linear = await chartState(page, 'chart-loss');
    await page.check('#log-loss');
    expect((await lossOf('chart-loss')).type).toBe('logarithmic');
    expect((await chartState(page, 'chart-loss')).image).not.toBe(linear.image);
    await page.uncheck('#log-loss');
    expect((await lossOf('chart-loss')).type).toBe('linear');
    expect((await chartState(page, 'chart-loss')).image).toBe(linear.image);

    // Smoothing: the drawn mean is TensorBoard's debiased EMA of the raw mean; 0 gives the raw mean back.
    const raw = await lossOf('chart-loss');
    expect(raw.mean).toEqual(raw.raw);
    await page.fill('#smoothing', '0.9');
    await expect(page.textContent('#smoothing-value')).resolves.toBe('0.90');
    const smooth = await lossOf('chart-loss');
    // (Chromium's and Node's Math.pow may differ in the last bit.)
    const expected = emaSmooth(raw.raw, 0.9);
    expect(smooth.mean).toHaveLength(expected.length);
    smooth.mean.forEach((y, i) => expect(y).toBeCloseTo(expected[i]!, 12));
    const swing = (ys: (number | null)[]) => ys.slice(1).reduce<number>((s, y, i) => s + Math.abs((y ?? 0) - (ys[i] ?? 0)), 0);
    expect(swing(smooth.mean)).toBeLessThan(swing(raw.raw) / 3);
    await page.fill('#smoothing', '0');
    expect((await lossOf('chart-loss')).mean).toEqual(raw.raw);

    // Seed curves: off by default, then one per seed of each arm, out of the legend.
    expect(raw.seeds).toEqual([]);
    await page.check('#show-seeds');
    const seedsShown = await page.evaluate(() => window.reportCharts.find((c) => c.canvas.id === 'chart-loss')!.data.datasets.filter((d) => d.seedCurve).map((d) => d.label));
    expect(seedsShown).toEqual(['iid seed 1', 'iid seed 2', 'label-per-node seed 1', 'label-per-node seed 2', 'seq-cyclic seed 1', 'seq-cyclic seed 2']);
    expect((await lossOf('chart-loss')).seeds).toEqual(seedsShown);
    expect((await chartState(page, 'chart-loss')).legend).toEqual(['iid', 'label-per-node', 'seq-cyclic']);
    // The arm filter hides an arm's seed curves too.
    await page.locator('#arm-filter label[data-arm="iid"] input').uncheck();
    expect((await lossOf('chart-loss')).seeds).toEqual(seedsShown.slice(2));
    await expect(page.locator('.class-accuracy[data-arm-panel="iid"]').isVisible()).resolves.toBe(false);
    await page.locator('#arm-filter label[data-arm="iid"] input').check();
    await page.uncheck('#show-seeds');
    expect((await lossOf('chart-loss')).seeds).toEqual([]);

    // Per-class accuracy over time: one chart per arm, one line per class, every evaluation.
    const perClass = await page.evaluate(() => window.reportCharts.filter((c) => c.canvas.id.startsWith('chart-class-accuracy-')).map((c) => c.data.datasets.map((d) => `${d.label}:${d.data.length}`)));
    expect(perClass).toHaveLength(3);
    for (const lines of perClass) expect(lines).toEqual(['T-shirt/top:12', 'Trouser:12', 'Pullover:12', 'Dress:12']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('many arms: full-width charts, families, and a name filter that applies to every chart', async () => {
    const names = [
      'iid',
      'iid-momentum',
      'iid-adam',
      'label-per-node',
      ...['sgd', 'momentum', 'adam'].flatMap((opt) => ['cyclic-r1', 'cyclic-r25', 'random-r1', 'random-r25'].map((v) => `seq-${v}-${opt}`)),
      'fedavg-h1',
      'fedavg-h5',
      'fedavg-h20',
      'batchnorm-label-per-node',
      'groupnorm-label-per-node',
      'batchnorm-iid',
    ];
    const { page, errors, requests } = await open('many', { failedRun: true }, names);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await expect(page.getAttribute('body', 'class')).resolves.toBe('many-arms');
    const canvases = await paintedPixels(page);
    expect(canvases.filter((c) => c.id.startsWith('chart-histogram'))).toHaveLength(names.length);
    for (const c of canvases) expect(c.painted, `${c.id}: painted pixels`).toBeGreaterThan(0.03 * c.width * c.height);
    // Full width: the loss chart is wider than two columns would allow.
    const loss = canvases.find((c) => c.id === 'chart-loss')!;
    expect(loss.width).toBeGreaterThan(900);
    // The settings sit in a closed <details>.
    await expect(page.locator('header details.arm-settings').getAttribute('open')).resolves.toBeNull();
    await expect(page.locator('header details.arm-settings tr').count()).resolves.toBe(names.length);

    const before = await chartState(page, 'chart-loss');
    expect(before.arms).toEqual(names);
    expect(before.legend).toEqual(names);

    // Name filter: words must all match, a comma separates alternatives.
    await page.fill('#arm-search', 'adam, fedavg');
    const adam = ['iid-adam', 'seq-cyclic-r1-adam', 'seq-cyclic-r25-adam', 'seq-random-r1-adam', 'seq-random-r25-adam', 'fedavg-h1', 'fedavg-h5', 'fedavg-h20'];
    expect(await page.evaluate(() => window.reportArms)).toEqual(adam);
    for (const id of ['chart-loss', 'chart-accuracy', 'chart-cosine', 'chart-divergence', 'chart-per-class']) {
      expect((await chartState(page, id)).arms, id).toEqual(adam);
    }
    const filtered = await chartState(page, 'chart-loss');
    expect(filtered.legend).toEqual(adam);
    expect(filtered.image).not.toBe(before.image);
    await expect(page.textContent('#arm-count')).resolves.toBe('8 of 22 shown');
    await expect(page.locator('.histogram:visible').count()).resolves.toBe(adam.length);

    // A family button adds its family to what is shown, then takes it away again.
    await page.click('#arm-filter button[data-family="iid"]');
    const withIid = ['iid', 'iid-momentum', ...adam];
    expect(await page.evaluate(() => window.reportArms)).toEqual(names.filter((n) => withIid.includes(n)));
    await expect(page.inputValue('#arm-search')).resolves.toBe('');
    await page.click('#arm-filter button[data-family="iid"]');
    expect(await page.evaluate(() => window.reportArms)).toEqual(adam.filter((n) => !n.startsWith('iid')));
    await expect(page.getAttribute('#arm-filter button[data-family="iid"]', 'class')).resolves.toContain('off');

    await page.click('#arm-filter button[data-arms="all"]');

    // A click on a legend entry hides that arm in that chart only.
    const box = await page.evaluate(() => {
      const chart = window.reportCharts.find((c) => c.canvas.id === 'chart-accuracy')!;
      const i = chart.legend.legendItems.findIndex((l) => l.text === 'seq-cyclic-r1-sgd');
      return chart.legend.legendHitBoxes[i]!;
    });
    await page.locator('#chart-accuracy').click({ position: { x: box.left + box.width / 2, y: box.top + box.height / 2 } });
    expect((await chartState(page, 'chart-accuracy')).arms).toEqual(names.filter((n) => n !== 'seq-cyclic-r1-sgd'));
    expect((await chartState(page, 'chart-loss')).arms).toEqual(names);
    await page.locator('#chart-accuracy').click({ position: { x: box.left + box.width / 2, y: box.top + box.height / 2 } });
    expect((await chartState(page, 'chart-accuracy')).arms).toEqual(names);

    const restored = await chartState(page, 'chart-loss');
    expect(restored.arms).toEqual(names);
    expect(restored.image).toBe(before.image);
    expect(errors).toEqual([]);
    await page.screenshot({ path: join(dir, 'report-many.png'), fullPage: true });
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
