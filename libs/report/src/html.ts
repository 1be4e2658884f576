import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPORT_SCRIPT } from './html-client';
import { buildReportData, type ReportData } from './html-data';
import type { RunResult, SweepInfo } from './results';
import { targetLabel } from './results';

/*
 * report.html: one self-contained page that opens offline. Chart.js (its UMD build, read from
 * node_modules at report time) and the data (JSON) are inlined; nothing is fetched. The text
 * parts (header, tables, notes) are plain HTML made here; the charts are drawn by
 * REPORT_SCRIPT in the browser.
 */

/** The Chart.js UMD bundle, from the installed chart.js package. */
export function chartJsSource(): string {
  const dist = dirname(require.resolve('chart.js'));
  for (const file of ['chart.umd.min.js', 'chart.umd.js']) {
    const path = join(dist, file);
    if (existsSync(path)) return readFileSync(path, 'utf8');
  }
  throw new Error(`chart.js: no UMD build (chart.umd.min.js or chart.umd.js) in ${dist}`);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Text that is safe inside <script>: no `</script` or `<!--` can end or confuse the element. */
function scriptSafe(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

function htmlTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly boolean[], rowClass?: (i: number) => string): string {
  const cell = (tag: string, text: string, i: number) => `<${tag}${rightAligned[i] ? ' class="num"' : ''}>${escapeHtml(text)}</${tag}>`;
  return [
    '<table>',
    `<thead><tr>${header.map((h, i) => cell('th', h, i)).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r, k) => `<tr${rowClass?.(k) ? ` class="${rowClass(k)}"` : ''}>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

function card(title: string, explain: string, body: string, extraClass = ''): string {
  return `<section class="card${extraClass ? ' ' + extraClass : ''}">
<h2>${escapeHtml(title)}</h2>
<p class="explain">${explain}</p>
${body}
</section>`;
}

const chartBox = (id: string, height = 300) => `<div class="chart" style="height:${height}px"><canvas id="${id}" role="img"></canvas></div>`;
const notRecorded = (why: string) => `<div class="empty"><strong>not recorded</strong><span>${why}</span></div>`;

/** The page for `data`, with `chartJs` (the Chart.js UMD source) inlined. Pure. */
export function renderReportHtml(data: ReportData, chartJs: string): string {
  const e = escapeHtml;
  const bucket = Math.max(1, ...data.arms.map((a) => a.loss?.bucket ?? 1));
  const thinned = bucket > 1 ? ` Each point averages ${bucket} steps.` : '';
  const multiSeed = data.arms.some((a) => a.seeds.length > 1);
  const bandText = multiSeed ? ' Line: mean over seeds; band: lowest to highest seed.' : '';
  const hasLoss = data.arms.some((a) => a.loss !== null);
  const hasWorkerLoss = data.arms.some((a) => a.workerLoss.length > 0);
  const hasAccuracy = data.arms.some((a) => a.accuracy !== null);
  const hasPerClass = data.arms.some((a) => a.perClassMean.some((v) => v !== null));
  const hasCosine = data.arms.some((a) => a.cosine !== null);
  const hasDivergence = data.arms.some((a) => a.divergence !== null);
  const divergenceMissing = data.arms.filter((a) => a.divergence === null).map((a) => a.name);
  const evalEvery = data.arms[0]?.accuracy?.x[0];

  const meta: [string, string][] = [
    ['data', data.dataset],
    ['seeds', data.seeds.join(', ')],
    ['target accuracy', data.target === null ? '-' : targetLabel(data.target)],
    ...(data.reference ? ([['reference arm', data.reference]] as [string, string][]) : []),
    ['base settings', data.base],
    ['made', formatDate(data.date)],
  ];
  const armList = data.arms.map((a, i) => `<li><span class="swatch" style="background:var(--arm-${i % 10})"></span><strong>${e(a.name)}</strong> <span class="muted">${e(a.settings)}</span></li>`).join('\n');

  const results = card(
    'Results',
    'One row per arm.',
    htmlTable(data.table.header, data.table.rows, data.table.rightAligned) +
      `\n<ul class="notes">${data.table.notes.map((n) => `<li>${e(n)}</li>`).join('')}</ul>` +
      (data.failed.length
        ? `\n<div class="failed"><h3>Failed runs</h3><ul>${data.failed.map((f) => `<li><strong>${e(f.arm)} seed ${f.seed}</strong>: ${e(f.error)}</li>`).join('')}</ul></div>`
        : ''),
    'wide',
  );

  const workerSelect = `<label class="select">arm <select id="worker-arm">${data.arms
    .filter((a) => a.workerLoss.length > 0)
    .map((a) => `<option value="${e(a.name)}">${e(a.name)}</option>`)
    .join('')}</select></label>`;

  const charts = [
    card(
      'Training loss',
      `Loss of the averaged step (sample-weighted mean of the workers' batch losses).${bandText}${thinned} Single-class batches make it jump from step to step.`,
      hasLoss ? chartBox('chart-loss') : notRecorded('no step records in the runs’ metrics.jsonl'),
    ),
    card(
      'Training loss per worker',
      `Loss of each worker's own batch, mean over seeds.${thinned} Under label skew the workers see very different losses.${hasWorkerLoss ? ' ' + workerSelect : ''}`,
      hasWorkerLoss ? chartBox('chart-worker-loss') : notRecorded('no step records with workerLoss'),
    ),
    card(
      'Test accuracy',
      `On the test set${evalEvery ? `, every ${evalEvery} steps` : ''}.${bandText}${data.target === null ? '' : ' Dashed: the target.'}`,
      hasAccuracy ? chartBox('chart-accuracy') : notRecorded('no eval records in the runs’ metrics.jsonl'),
    ),
    card(
      'Per-class test accuracy at the end',
      'After the last step, mean over the completed seeds (hover: ± std). A model pulled toward the classes it saw last scores unevenly.',
      hasPerClass ? chartBox('chart-per-class') : notRecorded('no completed run with per-class accuracy'),
    ),
    card(
      'Gradient cosine similarity',
      `Mean pairwise cosine of the workers' gradients at each step: 1 = all push the same way; near 0 or below = they disagree.${bandText}${thinned}`,
      hasCosine ? chartBox('chart-cosine') : notRecorded('step records carry no gradCosine (a run with one worker has none)'),
    ),
    card(
      'Weight divergence',
      `Distance of the weights from those of the reference arm${data.reference ? ` (${e(data.reference)})` : ''} with the same seed, at each evaluation.${
        hasDivergence && divergenceMissing.length ? ` Not recorded for: ${e(divergenceMissing.join(', '))}.` : ''
      }`,
      hasDivergence ? chartBox('chart-divergence') : notRecorded('the runs\u2019 eval records carry no weightDivergence'),
    ),
  ].join('\n');

  const classLegend = !data.arms.some((a) => a.histogram)
    ? ''
    : data.classNames.map((c, k) => `<span class="key"><span class="swatch" style="background:var(--class-${k % 10})"></span>${e(c)}</span>`).join(' ');
  const histograms = card(
    'Label mix per worker',
    `Samples of each class handed to each worker over the run (label-histogram.json of one seed per arm).<br>${classLegend}`,
    `<div class="histograms">${data.arms
      .map(
        (a, i) =>
          `<div class="histogram"><h3>${e(a.name)}${a.histogram ? ` <span class="muted">seed ${a.histogram.seed}</span>` : ''}</h3>${
            a.histogram ? chartBox(`chart-histogram-${i}`, 220) : notRecorded('no label-histogram.json in this arm\u2019s runs')
          }</div>`,
      )
      .join('\n')}</div>`,
    'wide',
  );

  const everyRun = `<section class="card wide"><details><summary>Every run (${data.runs.length})</summary>
${htmlTable(data.runHeader, data.runs.map((r) => r.cells), data.runHeader.map((_, i) => i === 1 || i >= 3), (k) => (data.runs[k]!.status === 'completed' ? '' : 'bad'))}
<p class="explain">Per-run numbers are in results.csv; each run's files are in &lt;arm&gt;/seed-&lt;seed&gt;/.</p>
</details></section>`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(data.title)}: shardlab sweep</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top">
<div class="kicker">shardlab sweep report</div>
<h1>${e(data.title)}</h1>
${data.description ? `<p class="description">${e(data.description)}</p>` : ''}
<dl class="meta">${meta.map(([k, v]) => `<div><dt>${e(k)}</dt><dd>${e(v)}</dd></div>`).join('')}</dl>
<ul class="arms">${armList}</ul>
</header>
<main>
${results}
<div class="grid">
${charts}
</div>
${histograms}
${everyRun}
</main>
<footer>Made by shardlab. Self-contained: Chart.js and the data are inlined; the page loads nothing.</footer>
<script>${scriptSafe(chartJs)}</script>
<script type="application/json" id="report-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${scriptSafe(REPORT_SCRIPT)}</script>
</body>
</html>
`;
}

/** Builds and writes report.html for the sweep's runs; returns its path. */
export function writeReportHtml(path: string, info: SweepInfo, runs: readonly RunResult[]): string {
  writeFileSync(path, renderReportHtml(buildReportData(info, runs), chartJsSource()));
  return path;
}

const ARM_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];
const CLASS_COLORS = ['#66c2a5', '#fc8d62', '#8da0cb', '#e78ac3', '#a6d854', '#ffd92f', '#e5c494', '#b3b3b3', '#1b9e77', '#d95f02'];

const STYLE = `
:root {
  ${ARM_COLORS.map((c, i) => `--arm-${i}: ${c};`).join(' ')}
  ${CLASS_COLORS.map((c, i) => `--class-${i}: ${c};`).join(' ')}
  --ink: #1f2430; --muted: #667085; --line: #e4e7ec; --bg: #f4f6f9; --card: #fff; --accent: #4e79a7; --bad: #b42318;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header.top { background: linear-gradient(135deg, #1f2d47, #2f4b73); color: #fff; padding: 28px 40px 22px; }
.kicker { text-transform: uppercase; letter-spacing: .12em; font-size: 11px; opacity: .75; }
h1 { margin: 4px 0 8px; font-size: 28px; font-weight: 650; }
.description { max-width: 900px; margin: 0 0 14px; opacity: .92; }
dl.meta { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 0 0 12px; }
dl.meta div { min-width: 0; }
dt { font-size: 11px; text-transform: uppercase; letter-spacing: .08em; opacity: .7; }
dd { margin: 0; font-weight: 500; }
ul.arms { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 6px 22px; }
ul.arms .muted { color: #c9d3e3; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 3px; margin-right: 6px; vertical-align: -1px; }
main { max-width: 1320px; margin: 0 auto; padding: 22px 28px 8px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 18px; margin-bottom: 18px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px 14px; box-shadow: 0 1px 2px rgba(16,24,40,.04); min-width: 0; }
.card.wide { margin-bottom: 18px; }
.card h2 { font-size: 16px; margin: 0 0 2px; }
.card h3 { font-size: 13px; margin: 0 0 4px; }
.explain { color: var(--muted); margin: 0 0 10px; font-size: 12.5px; }
.muted { color: var(--muted); font-weight: 400; }
.chart { position: relative; width: 100%; }
.empty { height: 220px; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 4px; border: 1px dashed var(--line); border-radius: 8px; color: var(--muted); background: #fafbfc; text-align: center; padding: 0 16px; }
.empty strong { font-size: 15px; color: #475467; }
.histograms { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; }
.key { display: inline-block; margin-right: 14px; color: var(--ink); }
label.select { display: inline-block; margin-left: 6px; color: var(--ink); }
select { font: inherit; padding: 1px 4px; border: 1px solid #cfd4dc; border-radius: 5px; background: #fff; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); }
td:first-child { font-weight: 600; }
.num { text-align: right; }
tr.bad td { color: var(--bad); }
td { white-space: normal; }
ul.notes { color: var(--muted); font-size: 12px; margin: 10px 0 0; padding-left: 18px; }
.failed h3 { color: var(--bad); margin-top: 12px; }
.failed ul { margin: 4px 0 0; padding-left: 18px; }
details summary { cursor: pointer; font-weight: 600; }
details table { margin-top: 10px; }
footer { text-align: center; color: var(--muted); font-size: 12px; padding: 4px 0 24px; }
`;
