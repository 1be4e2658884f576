/*
 * The live dashboard's page script (bundled with Chart.js by tools/bundle-browser.mjs, served
 * by @shardlab/dashboard). It listens to the feed (/events, server-sent events; see live.ts for
 * the events) and draws the shown run: loss (mean and per worker), test and per-class accuracy,
 * gradient cosine and steps/s, plus the runs table and the workers of the shown run. The shown
 * run follows the newest running one until the user clicks a row.
 * window.dashboard exposes the charts and runs to tests.
 */
import { Chart, registerables, type ChartDataset } from 'chart.js';
import type { LiveEvent, LiveRun } from '../live';
import type { EvalRecord, EventRecord, MetricsRecord, StepRecord } from '../records';
import { minMaxIndices } from '../series';
import { byId, classColor, setChartDefaults, workerColor } from './common';

Chart.register(...registerables);
setChartDefaults();

/** Points per curve before a curve is thinned (min-max, so spikes stay) to half as many. */
const MAX_POINTS = 3000;

interface Curve {
  x: number[];
  y: (number | null)[];
}

interface RunView {
  run: LiveRun;
  loss: Curve;
  workerLoss: Curve[];
  accuracy: Curve;
  perClass: Curve[];
  cosine: Curve;
  speed: Curve;
  lastStep: StepRecord | null;
  lastElapsed: { step: number; seconds: number } | null;
  stepsPerSecond: number | null;
  testAccuracy: number | null;
  joined: Map<number, string>;
  lost: Set<number>;
}

const runs = new Map<string, RunView>();
let shown: string | null = null;
let pinned = false;
let title = '';

const curve = (): Curve => ({ x: [], y: [] });

function push(c: Curve, x: number, y: number | null): void {
  c.x.push(x);
  c.y.push(y);
  if (c.x.length > MAX_POINTS) {
    const keep = minMaxIndices(c.y, MAX_POINTS / 2);
    c.x = keep.map((i) => c.x[i]!);
    c.y = keep.map((i) => c.y[i]!);
  }
}

function view(run: LiveRun): RunView {
  let v = runs.get(run.id);
  if (!v) {
    v = {
      run, loss: curve(), workerLoss: [], accuracy: curve(), perClass: [], cosine: curve(), speed: curve(),
      lastStep: null, lastElapsed: null, stepsPerSecond: null, testAccuracy: null, joined: new Map(), lost: new Set(),
    };
    runs.set(run.id, v);
  } else {
    v.run = run;
  }
  return v;
}

function onRun(run: LiveRun): void {
  const previous = runs.get(run.id)?.run.status;
  const v = view(run);
  if (run.status === 'running' && (previous === 'completed' || previous === 'failed')) {
    // The run starts again under the same id (a resumed run): its curves start over, as the feed's history does.
    Object.assign(v, { loss: curve(), workerLoss: [], accuracy: curve(), perClass: [], cosine: curve(), speed: curve(), lastStep: null, lastElapsed: null, joined: new Map(), lost: new Set() });
  }
  if (!pinned && (run.status === 'running' || shown === null)) shown = run.id;
}

function onStep(v: RunView, r: StepRecord): void {
  v.lastStep = r;
  push(v.loss, r.step, r.loss);
  r.workerLoss.forEach((loss, w) => push((v.workerLoss[w] ??= curve()), r.step, loss));
  if (r.gradCosine !== null) push(v.cosine, r.step, r.gradCosine);
  // Steps/s over at least half a second of elapsed time, so one fast step does not spike it.
  if (v.lastElapsed === null) v.lastElapsed = { step: r.step, seconds: r.elapsedSeconds };
  else if (r.elapsedSeconds - v.lastElapsed.seconds >= 0.5) {
    v.stepsPerSecond = (r.step - v.lastElapsed.step) / (r.elapsedSeconds - v.lastElapsed.seconds);
    push(v.speed, r.step, v.stepsPerSecond);
    v.lastElapsed = { step: r.step, seconds: r.elapsedSeconds };
  }
}

function onEval(v: RunView, r: EvalRecord): void {
  v.testAccuracy = r.testAccuracy;
  push(v.accuracy, r.step, r.testAccuracy);
  r.perClassAccuracy.forEach((a, c) => push((v.perClass[c] ??= curve()), r.step, Number.isFinite(a) ? a : null));
}

function onEvent(v: RunView, r: EventRecord): void {
  if (r.worker === undefined) return;
  if (r.event === 'joined') {
    v.joined.set(r.worker, r.message);
    v.lost.delete(r.worker);
  } else if (r.event === 'lost') v.lost.add(r.worker);
}

function onRecord(id: string, record: MetricsRecord): void {
  const v = runs.get(id);
  if (!v) return;
  if (record.kind === 'step') onStep(v, record);
  else if (record.kind === 'eval') onEval(v, record);
  else onEvent(v, record);
}

// ---- drawing ----------------------------------------------------------------------------------

const percent = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? (100 * x).toFixed(1) + '%' : '-');
const fixed = (x: number | null | undefined, d: number) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');
const points = (c: Curve) => c.x.map((x, i) => ({ x, y: c.y[i]! }));

type LineDataset = ChartDataset<'line', { x: number; y: number | null }[]>;

function lineChart(id: string, yTitle: string, y: Record<string, unknown> = {}): Chart<'line', { x: number; y: number | null }[]> {
  return new Chart(byId<HTMLCanvasElement>(id), {
    type: 'line',
    data: { datasets: [] },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: { x: { type: 'linear', title: { display: true, text: 'step' }, ticks: { precision: 0 } }, y: { title: { display: true, text: yTitle }, ...y } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

const accuracyAxis = { min: 0, max: 1, ticks: { callback: (v: number | string) => percent(Number(v)) } };
const charts = {
  loss: lineChart('chart-loss', 'training loss'),
  accuracy: lineChart('chart-accuracy', 'test accuracy', accuracyAxis),
  cosine: lineChart('chart-cosine', 'cosine', { suggestedMin: -0.2, suggestedMax: 1 }),
  speed: lineChart('chart-speed', 'steps/s', { beginAtZero: true }),
};

function line(label: string, c: Curve, color: string, extra: Partial<LineDataset> = {}): LineDataset {
  return { label, data: points(c), borderColor: color, backgroundColor: color, borderWidth: 1.6, pointRadius: 0, spanGaps: true, ...extra };
}

function drawCharts(v: RunView | undefined): void {
  const n = v?.workerLoss.length ?? 0;
  const names = v?.run.classNames ?? [];
  charts.loss.data.datasets = v
    ? [line('mean of the workers', v.loss, '#1f2430', { borderWidth: 2.2 }), ...v.workerLoss.map((c, w) => line(`worker ${w}`, c, workerColor(w, n), { borderWidth: 1 }))]
    : [];
  charts.accuracy.data.datasets = v
    ? [line('test accuracy', v.accuracy, '#1f2430', { borderWidth: 2.4, pointRadius: 2 }), ...v.perClass.map((c, k) => line(names[k] ?? `class ${k}`, c, classColor(k), { borderWidth: 1.2, pointRadius: 1.5 }))]
    : [];
  charts.cosine.data.datasets = v ? [line('gradient cosine', v.cosine, '#4e79a7')] : [];
  charts.speed.data.datasets = v ? [line('steps/s', v.speed, '#59a14f')] : [];
  for (const chart of Object.values(charts)) chart.update('none');
}

function cell(text: string, className = ''): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function drawRuns(): void {
  const body = byId('runs').querySelector('tbody')!;
  body.replaceChildren(
    ...[...runs.values()].map((v) => {
      const tr = document.createElement('tr');
      tr.className = 'selectable' + (v.run.id === shown ? ' selected' : '');
      tr.dataset['run'] = v.run.id;
      const steps = v.run.steps === null ? '-' : `${v.lastStep ? v.lastStep.step + 1 : 0}/${v.run.steps}`;
      const acc = v.run.status === 'running' ? v.testAccuracy : (v.run.finalTestAccuracy ?? v.testAccuracy);
      tr.append(
        cell(v.run.id),
        cell(v.run.status + (v.run.error ? `: ${v.run.error}` : ''), v.run.status),
        cell(steps, 'num'),
        cell(fixed(v.lastStep?.loss, 4), 'num'),
        cell(percent(acc), 'num'),
        cell(fixed(v.stepsPerSecond, 1), 'num'),
      );
      return tr;
    }),
  );
}

function drawWorkers(v: RunView | undefined): void {
  const body = byId('workers').querySelector('tbody')!;
  const count = Math.max(v?.run.workers ?? 0, v?.lastStep?.workerLoss.length ?? 0);
  const last = v?.lastStep;
  body.replaceChildren(
    ...Array.from({ length: count }, (_, w) => {
      const tr = document.createElement('tr');
      const state = v!.lost.has(w) ? 'lost' : v!.joined.has(w) ? 'joined' : 'waiting';
      tr.append(
        cell(`worker ${w}${v!.joined.get(w) ? ` (${v!.joined.get(w)})` : ''}`),
        cell(state, state === 'lost' ? 'lost' : state === 'joined' ? 'completed' : 'planned'),
        cell(last ? String(last.step) : '-', 'num'),
        cell(fixed(last?.workerLoss[w], 4), 'num'),
        cell(fixed(last?.gradNorm[w], 3), 'num'),
        cell(fixed(last?.computeMs[w], 1), 'num'),
      );
      return tr;
    }),
  );
}

function draw(): void {
  const v = shown === null ? undefined : runs.get(shown);
  drawCharts(v);
  drawRuns();
  drawWorkers(v);
  byId('loss-run').textContent = v ? `(${v.run.id})` : '';
  const running = [...runs.values()].filter((r) => r.run.status === 'running').length;
  const done = [...runs.values()].filter((r) => r.run.status === 'completed' || r.run.status === 'failed').length;
  byId('status').textContent = `${title}: ${done} of ${runs.size} run(s) done${running ? `, ${running} running` : ''}` +
    (v?.lastStep ? `; shown: ${v.run.id}, ${v.lastStep.step + 1}${v.run.steps ? `/${v.run.steps}` : ''} steps done` : '');
  document.body.dataset['updates'] = String(Number(document.body.dataset['updates'] ?? 0) + 1);
}

// Redraw at most every 250 ms, however fast records arrive.
let pending = false;
function schedule(): void {
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    draw();
  }, 250);
}

byId('runs').addEventListener('click', (e) => {
  const tr = (e.target as HTMLElement).closest('tr[data-run]') as HTMLTableRowElement | null;
  if (!tr) return;
  shown = tr.dataset['run']!;
  pinned = true;
  draw();
});

// ---- the feed ---------------------------------------------------------------------------------

const connection = byId('connection');
const token = new URLSearchParams(location.search).get('token') ?? '';
const source = new EventSource('/events?token=' + encodeURIComponent(token));
function listen<T extends LiveEvent['type']>(type: T, handle: (event: Omit<Extract<LiveEvent, { type: T }>, 'type'>) => void): void {
  source.addEventListener(type, (e) => {
    handle(JSON.parse((e as MessageEvent<string>).data));
    schedule();
  });
}
listen('hello', (e) => {
  // A reconnect: the history comes again in full, so start from it.
  runs.clear();
  title = `${e.command}`;
  document.title = `${e.title} · shardlab live`;
  for (const run of e.runs) onRun(run);
});
listen('run', (e) => onRun(e.run));
listen('record', (e) => onRecord(e.run, e.record));
source.addEventListener('bye', () => {
  source.close();
  // The last events may still wait for the scheduled redraw: draw them now, before saying it is over.
  draw();
  connection.textContent = 'finished';
  connection.className = 'over';
});
source.addEventListener('open', () => {
  connection.textContent = 'live';
  connection.className = 'live';
});
source.addEventListener('error', () => {
  if (source.readyState === EventSource.CLOSED) return;
  connection.textContent = 'reconnecting';
  connection.className = 'lost';
});

(window as unknown as { dashboard: unknown }).dashboard = { charts, runs, shown: () => shown };
