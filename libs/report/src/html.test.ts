import { describe, expect, it } from 'vitest';
import { buildReportData, seedBand } from './html-data';
import { escapeHtml, renderReportHtml } from './html';
import type { RunResult, SweepInfo } from './results';

const INFO: SweepInfo = {
  name: 'x',
  description: 'a </script><b>bold</b> description',
  dataset: 'synthetic 2-class data',
  target: 0.5,
  reference: null,
  seeds: [1, 2],
  arms: [{ name: 'a', settings: { strategy: 'iid' } }],
  base: { steps: 3 },
  date: '2026-01-15T12:00:00.000Z',
};

function run(seed: number, losses: number[], status: 'completed' | 'failed' = 'completed'): RunResult {
  return {
    arm: 'a',
    seed,
    dir: `/r/a/seed-${seed}`,
    status,
    error: status === 'failed' ? 'boom' : null,
    summary: { status, finalTestAccuracy: 0.6, perClassAccuracy: [0.5, 0.7], worstClassAccuracy: 0.5, finalLoss: losses.at(-1), lossSwing: 0.1 } as RunResult['summary'],
    config: null,
    classNames: ['cat', 'dog'],
    steps: losses.map((loss, step) => ({ step, loss, workerLoss: [loss - 0.1, loss + 0.1], gradCosine: 0.5 })),
    evals: [{ step: 3, testAccuracy: 0.6, testLoss: 1, perClassAccuracy: [0.5, 0.7] }],
    histogram: null,
  };
}

describe('chart data', () => {
  it('mean, min and max over seeds at each step; a shorter seed counts where it has values', () => {
    const b = seedBand([
      [{ step: 0, value: 1 }, { step: 1, value: 2 }],
      [{ step: 0, value: 3 }, { step: 1, value: null }, { step: 2, value: 5 }],
    ])!;
    expect(b).toEqual({ x: [0, 1, 2], mean: [2, 2, 5], min: [1, 2, 5], max: [3, 2, 5], bucket: 1 });
    expect(seedBand([[{ step: 0, value: null }]])).toBeNull();
  });

  it('thins long curves by averaging buckets of steps', () => {
    const series = Array.from({ length: 1000 }, (_, step) => ({ step, value: step }));
    const b = seedBand([series], 100)!;
    expect(b.bucket).toBe(10);
    expect(b.x).toHaveLength(100);
    expect(b.x.slice(0, 2)).toEqual([0, 10]);
    expect(b.mean[0]).toBe(4.5);
  });

  it('per arm: curves from the completed runs, per-class mean and std, no weight divergence when none was recorded', () => {
    const data = buildReportData(INFO, [run(1, [1, 0.8, 0.6]), run(2, [1.2, 1, 0.8]), run(3, [9, 9], 'failed')]);
    const arm = data.arms[0]!;
    expect(arm.seeds).toEqual([1, 2]);
    expect(arm.loss!.mean).toEqual([1.1, 0.9, 0.7]);
    expect(arm.workerLoss).toEqual([
      [1, 0.8, 0.6],
      [1.2, 1, 0.8],
    ]);
    expect(arm.perClassMean).toEqual([0.5, 0.7]);
    expect(arm.perClassStd).toEqual([0, 0]);
    expect(arm.divergence).toBeNull();
    expect(data.failed).toEqual([{ arm: 'a', seed: 3, error: 'boom' }]);
    expect(data.table.rows[0]!.slice(0, 2)).toEqual(['a', '2/3 ok']);
  });
});

describe('report.html', () => {
  const html = renderReportHtml(buildReportData(INFO, [run(1, [1, 0.8, 0.6])]), '/* chart.js </script> here */');

  it('escapes text and keeps inlined scripts from ending early', () => {
    expect(escapeHtml('<a href="x">&\'')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
    expect(html).toContain('a &lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; description');
    expect(html).toContain('/* chart.js <\\/script> here */');
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    const json = html.match(/<script type="application\/json" id="report-data">(.*?)<\/script>/s)![1]!;
    expect(JSON.parse(json).description).toBe(INFO.description);
  });

  it('references nothing outside the file', () => {
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  });

  it('says "not recorded" instead of an empty weight-divergence chart', () => {
    expect(html).not.toContain('id="chart-divergence"');
    expect(html).toMatch(/Weight divergence<\/h2>[\s\S]*?not recorded/);
  });
});
