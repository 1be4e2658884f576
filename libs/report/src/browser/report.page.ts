/*
 * report.html's script (bundled with Chart.js by tools/bundle-browser.mjs and inlined by html.ts):
 * draws the charts from the embedded JSON (ReportData, see html-data.ts), and runs the controls
 * above them: the arm filter (#arm-filter, shows or hides arms in every chart at once), the loss
 * axis (linear or log), the smoothing slider (TensorBoard's EMA) and the seed curves toggle.
 * Every chart is drawn at load (animation off); the page sets data-charts="<n>" on <body> when
 * done (a failure shows as a page error). window.reportCharts holds the charts, window.reportArms
 * the arms the filter shows.
 */
import { Chart, registerables, type ChartConfiguration, type ChartDataset, type LegendElement, type LegendItem, type ChartEvent } from 'chart.js';
import type { ArmChartData, Band, ReportData, SeedCurve } from '../report-data';
import { emaSmooth } from '../series';
import { alpha, byId, classColor, setChartDefaults, workerColor } from './common';

Chart.register(...registerables);
setChartDefaults();

const DATA = JSON.parse(byId('report-data').textContent ?? '{}') as ReportData;
const charts: Chart[] = [];
// Many arms (html.ts MANY_ARMS): full-width charts, compact legend on the right, fainter bands.
const many = document.body.classList.contains('many-arms');
/** Arm name -> shown by the arm filter. */
const shown: Record<string, boolean> = {};
for (const a of DATA.arms) shown[a.name] = true;

Chart.defaults.plugins.legend.labels.boxWidth = many ? 10 : 14;
Chart.defaults.plugins.legend.labels.boxHeight = many ? 10 : 12;
Chart.defaults.plugins.legend.labels.padding = many ? 4 : 10;
Chart.defaults.plugins.legend.labels.font = { size: many ? 11 : 12 };

type Point = { x: number; y: number | null };
interface Look {
  backgroundColor: string;
  borderColor: string;
  borderWidth: number;
}
/** What the page adds to Chart.js datasets: which arm and legend group, band or seed curve, normal look, raw values for smoothing. */
interface Extra {
  group?: string;
  arm?: string;
  band?: boolean;
  /** A seed's own curve: shown only with the seed-curves toggle. */
  seedCurve?: boolean;
  look?: Look;
  std?: (number | null)[];
  /** Unsmoothed values; the smoothing slider recomputes `data` from them. */
  raw?: { x: number[]; y: (number | null)[] };
}
type Dataset = ChartDataset<'line' | 'bar', (Point | number | null)[]> & Extra;

const points = (xs: readonly number[], ys: readonly (number | null)[]): Point[] => xs.map((x, i) => ({ x, y: ys[i] ?? null }));
const percent = (v: number) => Math.round(v * 1000) / 10 + '%';
const datasetsOf = (chart: Chart) => chart.data.datasets as Dataset[];
const lineWidth = () => Chart.defaults.elements.line.borderWidth as number;

/** Smoothing weight from the slider (0 = raw). */
let smoothing = 0;
let showSeeds = false;

/** A smoothed line: its data from raw values, recomputed when the slider moves. */
function smoothed(xs: number[], ys: (number | null)[]): Pick<Extra, 'raw'> & { data: Point[] } {
  return { raw: { x: xs, y: ys }, data: points(xs, emaSmooth(ys, smoothing)) };
}

/** Mean line plus a shaded min-max band, as three datasets of one legend group, and the seeds' own curves. */
function bandDatasets(b: Band, arm: ArmChartData, seeds: readonly SeedCurve[], smooth: boolean): Dataset[] {
  const datasets: Dataset[] = [];
  const color = arm.color;
  if (arm.seeds.length > 1) {
    const fillColor = alpha(color, many ? 0.07 : 0.16);
    datasets.push({ label: arm.name + ' max', group: arm.name, arm: arm.name, band: true, data: points(b.x, b.max), borderWidth: 0, pointRadius: 0, fill: false, backgroundColor: 'transparent', borderColor: 'transparent', spanGaps: true } as Dataset);
    datasets.push({
      label: arm.name + ' min', group: arm.name, arm: arm.name, band: true, data: points(b.x, b.min), borderWidth: 0, pointRadius: 0, fill: '-1', backgroundColor: fillColor, borderColor: 'transparent', spanGaps: true,
      look: { backgroundColor: fillColor, borderColor: 'transparent', borderWidth: 0 },
    } as Dataset);
  }
  for (const s of seeds) {
    const seedColor = alpha(color, 0.55);
    datasets.push({
      label: `${arm.name} seed ${s.seed}`, group: arm.name, arm: arm.name, seedCurve: true, hidden: !showSeeds, borderColor: seedColor, backgroundColor: seedColor, borderWidth: 0.9, fill: false, spanGaps: true,
      look: { backgroundColor: seedColor, borderColor: seedColor, borderWidth: 0.9 },
      ...(smooth ? smoothed(s.x, s.y) : { data: points(s.x, s.y) }),
    } as Dataset);
  }
  datasets.push({
    label: arm.name, group: arm.name, arm: arm.name, borderColor: color, backgroundColor: color, borderDash: arm.dash, fill: false, spanGaps: true,
    look: { backgroundColor: color, borderColor: color, borderWidth: lineWidth() },
    ...(smooth ? smoothed(b.x, b.mean) : { data: points(b.x, b.mean) }),
  } as Dataset);
  return datasets;
}

/** Whether a dataset is visible under the arm filter and the seed-curve toggle. */
function visible(d: Dataset): boolean {
  if (d.arm !== undefined && !shown[d.arm]) return false;
  return !d.seedCurve || showSeeds;
}

/** Legend click hides or shows a whole group (mean line, band, seed curves), in that chart only. */
function toggleGroup(_e: ChartEvent, item: LegendItem, legend: LegendElement<'line'>): void {
  const chart = legend.chart;
  const group = datasetsOf(chart)[item.datasetIndex!]!.group;
  const show = !chart.isDatasetVisible(item.datasetIndex!);
  datasetsOf(chart).forEach((d, i) => {
    if (d.group === group) chart.setDatasetVisibility(i, show && visible(d));
  });
  chart.update();
}

/** A colour faded to `a` (#rrggbb), or nearly hidden (a seed curve's rgba colour). */
const fade = (color: string, a: number) => (color.startsWith('#') ? alpha(color, a) : 'rgba(0,0,0,0.05)');

/** Brings one arm forward in every chart (others faded), or all back with null. */
let highlighted: string | null = null;
function highlight(name: string | null): void {
  if (name === highlighted) return;
  highlighted = name;
  for (const chart of charts) {
    let changed = false;
    const bar = (chart.config as ChartConfiguration).type === 'bar';
    for (const d of datasetsOf(chart)) {
      if (!d.look) continue;
      const faded = name !== null && d.arm !== name;
      d.borderColor = faded && !d.band ? fade(d.look.borderColor, 0.18) : d.look.borderColor;
      d.backgroundColor = faded ? (d.band ? 'transparent' : fade(bar ? d.look.borderColor : d.look.backgroundColor, bar ? 0.15 : 0.18)) : d.look.backgroundColor;
      d.borderWidth = name !== null && d.arm === name && !d.band && !bar && !d.seedCurve ? 3 : d.look.borderWidth;
      changed = true;
    }
    if (changed) chart.update();
  }
}

/** Legend items: only the arms the filter shows, bands and seed curves left out; lines drawn with their dash. */
function legendLabels(pointStyleLine: boolean) {
  return {
    filter: (item: LegendItem, data: { datasets: unknown[] }) => {
      const d = data.datasets[item.datasetIndex!] as Dataset;
      return !d.band && !d.seedCurve && (d.arm === undefined || shown[d.arm] === true);
    },
    generateLabels: (chart: Chart) => {
      const items = Chart.defaults.plugins.legend.labels.generateLabels(chart);
      if (!pointStyleLine) return items;
      return items.map((item) => {
        const d = datasetsOf(chart)[item.datasetIndex!]!;
        return { ...item, pointStyle: 'line' as const, lineWidth: 2.6, strokeStyle: d.look ? d.look.borderColor : item.strokeStyle, lineDash: (d as { borderDash?: number[] }).borderDash ?? [] };
      });
    },
    usePointStyle: pointStyleLine,
    pointStyleWidth: pointStyleLine ? 24 : undefined,
  };
}

function legendOptions(armLegend: boolean, pointStyleLine: boolean) {
  return {
    position: armLegend && many ? ('right' as const) : ('bottom' as const),
    align: armLegend && many ? ('start' as const) : ('center' as const),
    onClick: toggleGroup,
    onHover: (_e: ChartEvent, item: LegendItem, legend: LegendElement<'line'>) => {
      const d = datasetsOf(legend.chart)[item.datasetIndex!];
      highlight(d && d.arm !== undefined ? d.arm : null);
    },
    onLeave: () => highlight(null),
    labels: legendLabels(pointStyleLine),
  };
}

function lineOptions(yTitle: string, yExtra: Record<string, unknown> = {}, armLegend = true) {
  return {
    interaction: { mode: 'nearest' as const, axis: 'x' as const, intersect: false },
    scales: {
      x: { type: 'linear' as const, title: { display: true, text: 'step' }, ticks: { precision: 0 } },
      y: { title: { display: true, text: yTitle }, ...yExtra },
    },
    plugins: {
      legend: legendOptions(armLegend, true),
      tooltip: { filter: (item: { dataset: unknown }) => !(item.dataset as Dataset).band },
    },
  };
}

function draw(id: string, config: ChartConfiguration): Chart | null {
  const canvas = document.getElementById(id) as HTMLCanvasElement | null;
  if (!canvas) return null;
  const chart = new Chart(canvas, config);
  charts.push(chart);
  return chart;
}

/** A line chart; options as made by lineOptions (the page's extra dataset fields are why the cast). */
const lineChart = (id: string, datasets: Dataset[], options: object) =>
  draw(id, { type: 'line', data: { datasets: datasets as ChartDataset<'line', Point[]>[] }, options } as unknown as ChartConfiguration);

type BandKey = 'loss' | 'accuracy' | 'cosine' | 'divergence';
function bandChart(id: string, key: BandKey, yTitle: string, opts: { y?: Record<string, unknown>; extra?: Dataset[]; seeds?: (a: ArmChartData) => SeedCurve[]; smooth?: boolean } = {}): Chart | null {
  const datasets = DATA.arms.flatMap((arm) => {
    const b = arm[key];
    return b ? bandDatasets(b, arm, opts.seeds?.(arm) ?? [], opts.smooth ?? false) : [];
  });
  return lineChart(id, datasets.concat(opts.extra ?? []), lineOptions(yTitle, opts.y));
}

const accuracyAxis = { min: 0, max: 1, ticks: { callback: (v: number | string) => percent(Number(v)) } };
const zeroLine = { grid: { color: (ctx: { tick?: { value: number } }) => (ctx.tick && ctx.tick.value === 0 ? '#8a93a6' : 'rgba(0,0,0,0.08)') } };

const lossChart = bandChart('chart-loss', 'loss', 'training loss (mean of the workers)', { seeds: (a) => a.seedLoss, smooth: true });

const targetLine: Dataset[] = [];
if (DATA.target !== null) {
  let lastStep = 0;
  for (const a of DATA.arms) if (a.accuracy) lastStep = Math.max(lastStep, a.accuracy.x[a.accuracy.x.length - 1]!);
  targetLine.push({ label: 'target ' + percent(DATA.target), group: 'target', data: [{ x: 0, y: DATA.target }, { x: lastStep, y: DATA.target }], borderColor: '#6b7280', borderDash: [6, 4], borderWidth: 1.2, fill: false } as Dataset);
}
bandChart('chart-accuracy', 'accuracy', 'test accuracy', { y: accuracyAxis, extra: targetLine, seeds: (a) => a.seedAccuracy });
bandChart('chart-cosine', 'cosine', 'gradient cosine similarity', { y: { suggestedMin: -0.2, suggestedMax: 1, ...zeroLine }, smooth: true });
bandChart('chart-divergence', 'divergence', 'weight divergence from ' + (DATA.reference ?? 'the reference'), { y: { beginAtZero: true } });

// Per-worker loss of one arm, chosen with a select.
let workerChart: Chart | null = null;
function workerDatasets(arm: ArmChartData | undefined): Dataset[] {
  if (!arm) return [];
  return arm.workerLoss.map((ys, w) => {
    const color = workerColor(w, arm.workerLoss.length);
    return { label: 'worker ' + w, group: 'w' + w, borderColor: color, backgroundColor: color, fill: false, spanGaps: true, ...smoothed(arm.workerLossX, ys) } as Dataset;
  });
}
const select = document.getElementById('worker-arm') as HTMLSelectElement | null;
if (select && document.getElementById('chart-worker-loss')) {
  const first = DATA.arms.find((a) => a.workerLoss.length > 0);
  if (first) select.value = first.name;
  const selected = () => DATA.arms.find((a) => a.name === select.value);
  workerChart = lineChart('chart-worker-loss', workerDatasets(selected()), lineOptions('training loss of the worker\u2019s batch', {}, false));
  select.addEventListener('change', () => {
    workerChart!.data.datasets = workerDatasets(selected()) as ChartDataset<'line', Point[]>[];
    applyLossAxis();
    workerChart!.update();
  });
}

// Final per-class accuracy: classes on x, one bar per arm.
draw('chart-per-class', {
  type: 'bar',
  data: {
    labels: DATA.classNames,
    datasets: DATA.arms.map((arm) => {
      const fill = alpha(arm.color, 0.85);
      return { label: arm.name, group: arm.name, arm: arm.name, std: arm.perClassStd, data: arm.perClassMean, backgroundColor: fill, borderColor: arm.color, borderWidth: 1, look: { backgroundColor: fill, borderColor: arm.color, borderWidth: 1 } };
    }),
  },
  options: {
    scales: { x: { title: { display: true, text: 'class' } }, y: { title: { display: true, text: 'test accuracy at the end' }, ...accuracyAxis } },
    plugins: {
      legend: legendOptions(true, false),
      tooltip: {
        callbacks: {
          label: (ctx: { dataset: unknown; dataIndex: number; parsed: { y: number } }) => {
            const d = ctx.dataset as Dataset;
            const sd = d.std?.[ctx.dataIndex];
            return `${d.label}: ${percent(ctx.parsed.y)}${sd === null || sd === undefined ? '' : ' \u00b1 ' + percent(sd)}`;
          },
        },
      },
    },
  },
} as ChartConfiguration);

// Per-class test accuracy over time: one small chart per arm, one line per class (which class is forgotten when).
DATA.arms.forEach((arm, i) => {
  if (!arm.perClassCurves.length) return;
  const names = DATA.classNames;
  lineChart(
    'chart-class-accuracy-' + i,
    arm.perClassCurves.map((ys, c) => ({ label: names[c] ?? 'class ' + c, group: 'c' + c, data: points(arm.perClassX, ys), borderColor: classColor(c), backgroundColor: classColor(c), borderWidth: 1.4, pointRadius: arm.perClassX.length > 60 ? 0 : 1.5, fill: false, spanGaps: true }) as Dataset),
    { ...lineOptions('test accuracy', accuracyAxis, false), plugins: { legend: { display: false } } },
  );
});

// Label mix per worker: one stacked bar chart per arm.
DATA.arms.forEach((arm, i) => {
  const h = arm.histogram;
  if (!h) return;
  draw('chart-histogram-' + i, {
    type: 'bar',
    data: {
      labels: h.perWorker.map((_, w) => 'worker ' + w),
      datasets: h.classNames.map((name, c) => ({ label: name, data: h.perWorker.map((counts) => counts[c]!), backgroundColor: classColor(c), borderWidth: 0 })),
    },
    options: {
      scales: { x: { stacked: true, ticks: { maxRotation: 0 } }, y: { stacked: true, title: { display: true, text: 'samples handed to the worker' } } },
      plugins: { legend: { display: false } },
    },
  });
});

// ---- view controls: loss axis, smoothing, seed curves ----------------------------------------

const logLoss = document.getElementById('log-loss') as HTMLInputElement | null;
function applyLossAxis(): void {
  const type = logLoss?.checked ? 'logarithmic' : 'linear';
  for (const chart of [lossChart, workerChart]) {
    if (!chart) continue;
    (chart.options.scales!['y'] as { type: string }).type = type;
    chart.update();
  }
}
logLoss?.addEventListener('change', applyLossAxis);

const slider = document.getElementById('smoothing') as HTMLInputElement | null;
const sliderValue = document.getElementById('smoothing-value');
slider?.addEventListener('input', () => {
  smoothing = Number(slider.value);
  if (sliderValue) sliderValue.textContent = smoothing.toFixed(2);
  for (const chart of charts) {
    let changed = false;
    for (const d of datasetsOf(chart)) {
      if (!d.raw) continue;
      d.data = points(d.raw.x, emaSmooth(d.raw.y, smoothing));
      changed = true;
    }
    if (changed) chart.update();
  }
});

const seedToggle = document.getElementById('show-seeds') as HTMLInputElement | null;
seedToggle?.addEventListener('change', () => {
  showSeeds = seedToggle.checked;
  applyVisibility();
});

function applyVisibility(): void {
  for (const chart of charts) {
    let changed = false;
    datasetsOf(chart).forEach((d, i) => {
      if (d.arm === undefined && !d.seedCurve) return;
      chart.setDatasetVisibility(i, visible(d));
      changed = true;
    });
    if (changed) chart.update();
  }
}

// ---- the arm filter ----------------------------------------------------------------------------
// Checkboxes, and with many arms a name filter and family buttons. An arm is shown when its box is
// ticked and its name matches the filter (words: all of them; a comma separates alternatives). It
// sets every chart's datasets of the arm, the per-arm charts and the arms of the per-worker select.
const bar = document.getElementById('arm-filter');
const search = document.getElementById('arm-search') as HTMLInputElement | null;
const boxes = bar ? Array.from(bar.querySelectorAll<HTMLInputElement>('input[type=checkbox][value]')) : [];
function matches(name: string): boolean {
  const text = search ? search.value.trim().toLowerCase() : '';
  if (!text) return true;
  const lower = name.toLowerCase();
  return text.split(',').some((alt) => {
    const words = alt.trim().split(/\s+/).filter(Boolean);
    return words.length > 0 && words.every((w) => lower.includes(w));
  });
}
function applyFilter(): void {
  let count = 0;
  for (const box of boxes) {
    const match = matches(box.value);
    shown[box.value] = box.checked && match;
    if (shown[box.value]) count++;
    box.parentElement!.classList.toggle('off', !box.checked);
    box.parentElement!.classList.toggle('unmatched', !match);
  }
  applyVisibility();
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('[data-arm-panel]'))) el.hidden = !shown[el.dataset['armPanel']!];
  for (const b of Array.from(bar!.querySelectorAll<HTMLButtonElement>('button.family'))) {
    const members = DATA.arms.filter((a) => a.family === b.dataset['family']);
    const on = members.filter((a) => shown[a.name]).length;
    b.classList.toggle('on', on === members.length);
    b.classList.toggle('off', on === 0);
    b.classList.toggle('some', on > 0 && on < members.length);
  }
  const counter = document.getElementById('arm-count');
  if (counter) counter.textContent = `${count} of ${DATA.arms.length} shown`;
  if (select && workerChart) {
    for (const o of Array.from(select.options)) o.hidden = !shown[o.value];
    if (!shown[select.value]) {
      const next = Array.from(select.options).find((o) => shown[o.value]);
      if (next) {
        select.value = next.value;
        select.dispatchEvent(new Event('change'));
      }
    }
  }
  window.reportArms = DATA.arms.map((a) => a.name).filter((n) => shown[n]);
}
if (bar) {
  for (const box of boxes) {
    box.addEventListener('change', applyFilter);
    box.parentElement!.addEventListener('mouseenter', () => {
      if (shown[box.value]) highlight(box.value);
    });
    box.parentElement!.addEventListener('mouseleave', () => highlight(null));
  }
  search?.addEventListener('input', applyFilter);
  bar.addEventListener('click', (e) => {
    const button = (e.target as HTMLElement).closest('button');
    if (!button) return;
    const which = button.dataset['arms'];
    const family = button.dataset['family'];
    if (which) {
      for (const box of boxes) box.checked = which === 'all';
      if (which === 'all' && search) search.value = '';
    } else if (family !== undefined) {
      const members = boxes.filter((box) => DATA.arms.some((a) => a.name === box.value && a.family === family));
      const allShown = members.every((box) => shown[box.value]);
      // Showing a family the name filter hides: the arms shown now stay ticked, the others
      // are unticked, and the name filter is cleared, so that only the family is added.
      if (!allShown && search && search.value && members.some((box) => !matches(box.value))) {
        for (const box of boxes) box.checked = shown[box.value]!;
        search.value = '';
      }
      for (const box of members) box.checked = !allShown;
    }
    applyFilter();
  });
}

declare global {
  interface Window {
    reportCharts: Chart[];
    reportArms: string[];
  }
}
window.reportArms = DATA.arms.map((a) => a.name);
window.reportCharts = charts;
document.body.setAttribute('data-charts', String(charts.length));
