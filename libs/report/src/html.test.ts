import { describe, expect, it } from 'vitest';
import { ARM_DASHES, ARM_PALETTE, armFamily, armStyles, buildReportData, seedBand } from './html-data';
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
    steps: losses.map((loss, step) => ({ step, loss, workerLoss: [loss - 0.1, loss + 0.1], gradCosine: 0.5, elapsedSeconds: step * 0.05 })),
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

  it('thins long curves keeping each bucket\'s lowest and highest point, the band over the whole bucket', () => {
    // Two seeds: a ramp, and the ramp with a one-step spike at 537 and a dip at 812.
    const ramp = Array.from({ length: 1000 }, (_, step) => ({ step, value: step }));
    const spiky = ramp.map((p) => ({ step: p.step, value: p.step === 537 ? 5000 : p.step === 812 ? -3000 : p.value }));
    const b = seedBand([ramp, spiky], 100)!;
    expect(b.bucket).toBe(20);
    expect(b.x.length).toBeLessThanOrEqual(100);
    expect(b.x.slice(0, 2)).toEqual([0, 19]);
    expect(b.mean.slice(0, 2)).toEqual([0, 19]);
    // The spike and the dip survive in the mean line and in the band.
    expect(b.x).toContain(537);
    expect(b.mean[b.x.indexOf(537)]).toBe((537 + 5000) / 2);
    expect(b.max[b.x.indexOf(537)]).toBe(5000);
    expect(b.min[b.x.indexOf(812)]).toBe(-3000);
    expect(Math.max(...(b.mean as number[]))).toBe((537 + 5000) / 2);
  });

  it('per arm: each seed\'s curves and per-class accuracy at every evaluation', () => {
    const a = run(1, [1, 0.8, 0.6]);
    const b = { ...run(2, [1.2, 1, 0.8]), evals: [{ step: 3, testAccuracy: 0.7, testLoss: 1, perClassAccuracy: [0.3, 0.9] }] };
    const arm = buildReportData(INFO, [a, b]).arms[0]!;
    expect(arm.seedLoss).toEqual([{ seed: 1, x: [0, 1, 2], y: [1, 0.8, 0.6] }, { seed: 2, x: [0, 1, 2], y: [1.2, 1, 0.8] }]);
    expect(arm.seedAccuracy.map((c) => c.y)).toEqual([[0.6], [0.7]]);
    expect(arm.perClassX).toEqual([3]);
    expect(arm.perClassCurves).toEqual([[0.4], [0.8]]);
    // One seed: its curve is the mean line, nothing separate.
    expect(buildReportData(INFO, [a]).arms[0]!.seedLoss).toEqual([]);
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
  const html = renderReportHtml(buildReportData(INFO, [run(1, [1, 0.8, 0.6])]), '/* the page script </script> here */');

  it('escapes text and keeps inlined scripts from ending early', () => {
    expect(escapeHtml('<a href="x">&\'')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
    expect(html).toContain('a &lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; description');
    expect(html).toContain('/* the page script <\\/script> here */');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    const json = html.match(/<script type="application\/json" id="report-data">(.*?)<\/script>/s)![1]!;
    expect(JSON.parse(json).description).toBe(INFO.description);
  });

  it('references nothing outside the file', () => {
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  });

  it('draws each worker\'s classes step by step: a cell per worker and step, split by class, named in its title', () => {
    const firstSteps = [
      [
        [32, 0],
        [0, 32],
      ],
      [
        [16, 16],
        [0, 32],
      ],
    ];
    const withMix = renderReportHtml(buildReportData(INFO, [{ ...run(1, [1, 0.8]), histogram: { classNames: ['cat', 'dog'], perWorker: [[48, 16], [0, 64]], firstSteps } }]), '');
    expect(withMix).toContain('Classes per worker, step by step');
    const cells = [...withMix.matchAll(/<span class="mix-cell" title="([^"]*)">(.*?)<\/span><\/span>|<span class="mix-cell" title="([^"]*)">/g)];
    expect(cells).toHaveLength(4);
    expect(withMix).toContain('title="worker 0, step 1: 16 cat, 16 dog"');
    expect(withMix).toContain('title="worker 1, step 0: 32 dog"');
    expect(html).not.toContain('Classes per worker, step by step');
  });

  it('says "not recorded" instead of an empty weight-divergence chart', () => {
    expect(html).not.toContain('id="chart-divergence"');
    expect(html).toMatch(/Weight divergence<\/h2>[\s\S]*?not recorded/);
  });
});

/** The 24 arms of experiments/seed-question.yaml. */
const SEED_QUESTION_ARMS = [
  'iid',
  'iid-momentum',
  'iid-adam',
  'stratified',
  'label-per-node',
  ...['sgd', 'momentum', 'adam'].flatMap((opt) => ['cyclic-r1', 'cyclic-r25', 'random-r1', 'random-r25'].map((v) => `seq-${v}-${opt}`)),
  'fedavg-h1',
  'fedavg-h5',
  'fedavg-h20',
  'batchnorm-label-per-node',
  'syncbn-label-per-node',
  'groupnorm-label-per-node',
  'batchnorm-iid',
];

describe('arm colours', () => {
  const key = (s: { color: string; dash: number[] }) => `${s.color} ${s.dash.join(',')}`;

  it('up to ten arms: one palette colour each, solid lines', () => {
    const styles = armStyles(['iid', 'label-per-node', 'seq-cyclic']);
    expect(styles.map((s) => s.color)).toEqual(ARM_PALETTE.slice(0, 3));
    expect(styles.every((s) => s.dash.length === 0)).toBe(true);
    expect(styles.map((s) => s.family)).toEqual(['iid', 'label', 'seq']);
  });

  it('many arms: one hue per family, shades and dashes within it, no two arms alike', () => {
    const styles = armStyles(SEED_QUESTION_ARMS);
    expect(new Set(styles.map(key)).size).toBe(24);
    expect(armFamily('seq-cyclic-r1-sgd')).toBe('seq');
    expect(armFamily('plain')).toBe('plain');
    const seq = styles.filter((s) => s.family === 'seq');
    expect(seq).toHaveLength(12);
    // 12 arms: 4 shades x 3 dashes, the dash following the outer setting (the optimizer here).
    expect(new Set(seq.map((s) => s.dash.join(','))).size).toBe(3);
    expect(seq.slice(0, 4).every((s) => s.dash.length === 0)).toBe(true);
    expect(new Set(seq.slice(0, 4).map((s) => s.color)).size).toBe(4);
    // A family of one keeps its palette colour.
    expect(styles[SEED_QUESTION_ARMS.indexOf('stratified')]!.color).toBe(ARM_PALETTE[1]);
  });

  it('many arms without families: the palette repeats with another dash', () => {
    const styles = armStyles(Array.from({ length: 25 }, (_, i) => `lr${i}`));
    expect(new Set(styles.map(key)).size).toBe(25);
    expect(styles[10]).toMatchObject({ color: ARM_PALETTE[0], dash: ARM_DASHES[1] });
  });
});

describe('report.html for many arms', () => {
  const info: SweepInfo = { ...INFO, arms: SEED_QUESTION_ARMS.map((name) => ({ name, settings: { strategy: 'iid' } })) };
  const runs = SEED_QUESTION_ARMS.map((arm, i) => ({ ...run(1, [1, 0.8 - i / 100, 0.6]), arm }));
  const many = renderReportHtml(buildReportData(info, runs), '');
  const few = renderReportHtml(buildReportData(INFO, [run(1, [1, 0.8, 0.6])]), '');

  it('folds the per-arm settings into a <details>, open only for a few arms', () => {
    expect(many).toMatch(/<details class="arm-settings"><summary><strong>24 arms<\/strong>[^<]*<span class="muted">\(iid\u00a0\u00d73, stratified, label, seq\u00a0\u00d712,/);
    expect(few).toContain('<details class="arm-settings" open><summary><strong>1 arm</strong>');
  });

  it('full-width charts and an arm filter with a name filter and family buttons', () => {
    expect(many).toContain('<body class="many-arms">');
    expect(many).toContain('<div class="grid many">');
    expect(many.match(/<label class="arm-check"/g)).toHaveLength(24);
    expect(many).toContain('id="arm-search"');
    expect([...many.matchAll(/data-family="([^"]+)"/g)].map((m) => m[1])).toEqual(['iid', 'seq', 'fedavg', 'batchnorm']);
    expect(few).not.toContain('id="arm-filter"');
    expect(few).toContain('<body>');
  });
});
