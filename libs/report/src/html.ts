import { writeFileSync } from 'node:fs';
import { browserBundle, scriptSafe } from './bundles';
import { CLASS_COLORS } from './palette';
import { buildReportData, type ArmChartData, type ReportData } from './html-data';
import type { RunResult, SweepInfo } from './results';
import { targetLabel } from './results';

/*
 * report.html: one self-contained page that opens offline. The data (JSON) and the page's script
 * (src/browser/report.page.ts bundled with Chart.js) are inlined; nothing is fetched. The text
 * parts (header, tables, notes) are plain HTML made here; the charts are drawn by the script.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}


function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/** A table of text cells; `lead` (HTML) goes before the text of a row's first cell. */
function htmlTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: readonly boolean[],
  rowClass?: (i: number) => string,
  lead?: (i: number) => string,
): string {
  const cell = (tag: string, text: string, i: number, before = '') => `<${tag}${rightAligned[i] ? ' class="num"' : ''}>${before}${escapeHtml(text)}</${tag}>`;
  return [
    '<table>',
    `<thead><tr>${header.map((h, i) => cell('th', h, i)).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r, k) => `<tr${rowClass?.(k) ? ` class="${rowClass(k)}"` : ''}>${r.map((c, i) => cell('td', c, i, i === 0 ? lead?.(k) : '')).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

/** From this many arms on, the charts take the full width, taller, with the legend on the right. */
export const MANY_ARMS = 9;
/** From this many arms on, the arm filter gets a name filter and family buttons, and its list folds away. */
const LARGE_FILTER = 11;
/** Up to this many arms, the header's settings table starts open. */
const OPEN_SETTINGS = 6;

/** A short line in the arm's colour and dash, as in the charts. */
function armSwatch(arm: Pick<ArmChartData, 'color' | 'dash'>): string {
  const dash = arm.dash.length ? ` stroke-dasharray="${arm.dash.join(' ')}"` : '';
  return `<svg class="swatch-line" width="24" height="8" viewBox="0 0 24 8" aria-hidden="true"><line x1="1" y1="4" x2="23" y2="4" stroke="${arm.color}" stroke-width="2.6"${dash}/></svg>`;
}

/** Families with their arms, in the order they first appear. */
function familiesOf(arms: readonly ArmChartData[]): { name: string; arms: ArmChartData[] }[] {
  const out: { name: string; arms: ArmChartData[] }[] = [];
  for (const a of arms) {
    const f = out.find((x) => x.name === a.family);
    if (f) f.arms.push(a);
    else out.push({ name: a.family, arms: [a] });
  }
  return out;
}

/**
 * The bar above the charts (run by the page's script): the view controls (loss axis, smoothing, seed
 * curves) and, with several arms, the arm filter: a checkbox per arm; with many arms also a name
 * filter, all/none and one button per family of several arms, the checkboxes folded into a <details>.
 */
function viewControls(multiSeed: boolean): string {
  return `<span class="view-controls"><label title="the loss charts on a log axis"><input type="checkbox" id="log-loss"> log loss</label>
<label title="TensorBoard's smoothing: exponential moving average of the loss and cosine lines (0 = raw)">smoothing <input type="range" id="smoothing" min="0" max="0.99" step="0.01" value="0"> <output id="smoothing-value">0.00</output></label>${
    multiSeed ? '\n<label title="each seed\'s own loss and accuracy curve beside the mean and band"><input type="checkbox" id="show-seeds"> seed curves</label>' : ''
  }</span>`;
}

function armFilter(arms: readonly ArmChartData[], controls: string): string {
  if (arms.length < 2) return `<div class="armbar" id="view-bar"><div class="armbar-row"><strong>View</strong>${controls}</div></div>`;
  const e = escapeHtml;
  const checks = arms
    .map((a) => `<label class="arm-check" data-arm="${e(a.name)}" title="${e(a.settings)}"><input type="checkbox" value="${e(a.name)}" checked>${armSwatch(a)}${e(a.name)}</label>`)
    .join('');
  const buttons = '<button type="button" data-arms="all">all</button><button type="button" data-arms="none">none</button>';
  if (arms.length < LARGE_FILTER) {
    return `<div class="armbar" id="arm-filter"><div class="armbar-row"><strong>Arms</strong>${checks}<span class="armbar-buttons">${buttons}</span></div><div class="armbar-row"><strong>View</strong>${controls}</div></div>`;
  }
  const families = familiesOf(arms).filter((f) => f.arms.length > 1);
  const chips = families.length
    ? `<span class="families"><span class="muted">families:</span>${families
        .map((f) => `<button type="button" class="family on" data-family="${e(f.name)}" title="show or hide: ${e(f.arms.map((a) => a.name).join(', '))}">${armSwatch(f.arms[0]!)}${e(f.name)} <span class="n">${f.arms.length}</span></button>`)
        .join('')}</span>`
    : '';
  return `<div class="armbar" id="arm-filter">
<div class="armbar-row"><strong>Arms</strong> <span id="arm-count" class="muted">${arms.length} of ${arms.length} shown</span>
<input type="search" id="arm-search" placeholder="name filter, e.g. seq adam, iid" aria-label="show the arms whose name contains these words (comma: or)" spellcheck="false">
<span class="armbar-buttons">${buttons}</span>${chips}</div>
<div class="armbar-row"><strong>View</strong>${controls}</div>
<details class="arm-list"><summary>choose arms</summary><div class="arm-checks">${checks}</div></details>
</div>`;
}

/** A worker x step grid of cells, each split by class in proportion to the samples of that worker's batch. */
function stepMixGrid(steps: readonly (readonly (readonly number[])[])[], classNames: readonly string[]): string {
  const workers = steps[0]?.length ?? 0;
  const cell = (counts: readonly number[], w: number, t: number): string => {
    const total = counts.reduce((x, y) => x + y, 0);
    const parts = counts.flatMap((n, c) => (n > 0 ? [`<span style="flex:${n};background:var(--class-${c % 10})"></span>`] : []));
    const title = `worker ${w}, step ${t}: ${total ? counts.flatMap((n, c) => (n > 0 ? [`${n} ${classNames[c] ?? `class ${c}`}`] : [])).join(', ') : 'nothing'}`;
    return `<span class="mix-cell" title="${escapeHtml(title)}">${parts.join('')}</span>`;
  };
  const rows = Array.from({ length: workers }, (_, w) => `<div class="mix-row"><span class="mix-label">w${w}</span>${steps.map((s, t) => cell(s[w]!, w, t)).join('')}</div>`);
  return `<div class="mix-grid">${rows.join('')}<div class="mix-row mix-axis"><span class="mix-label"></span><span>step 0</span><span>${steps.length - 1}</span></div></div>`;
}

function card(title: string, explain: string, body: string, extraClass = ''): string {
  return `<section class="card${extraClass ? ' ' + extraClass : ''}">
<h2>${escapeHtml(title)}</h2>
<p class="explain">${explain}</p>
${body}
</section>`;
}

const chartBox = (id: string, height: number) => `<div class="chart" style="height:${height}px"><canvas id="${id}" role="img"></canvas></div>`;
const notRecorded = (why: string) => `<div class="empty"><strong>not recorded</strong><span>${why}</span></div>`;

/** The page for `data`, with `script` (the bundled report.page.ts) inlined. Pure. */
export function renderReportHtml(data: ReportData, script: string): string {
  const e = escapeHtml;
  const bucket = Math.max(1, ...data.arms.map((a) => a.loss?.bucket ?? 1));
  const thinned = bucket > 1 ? ` Thinned for drawing: every ${bucket} steps keep their lowest and highest point, so spikes stay.` : '';
  const multiSeed = data.arms.some((a) => a.seeds.length > 1);
  const bandText = multiSeed ? ' Line: mean over seeds; band: lowest to highest seed (each seed\'s own curve: "seed curves" above).' : '';
  const hasLoss = data.arms.some((a) => a.loss !== null);
  const hasWorkerLoss = data.arms.some((a) => a.workerLoss.length > 0);
  const hasAccuracy = data.arms.some((a) => a.accuracy !== null);
  const hasPerClass = data.arms.some((a) => a.perClassMean.some((v) => v !== null));
  const hasCosine = data.arms.some((a) => a.cosine !== null);
  const hasDivergence = data.arms.some((a) => a.divergence !== null);
  const divergenceMissing = data.arms.filter((a) => a.divergence === null).map((a) => a.name);
  const evalEvery = data.arms[0]?.accuracy?.x[0];
  const many = data.arms.length >= MANY_ARMS;
  // Many arms: room for a legend on the right with one line per arm (about 17 px each).
  const chartHeight = many ? Math.min(640, Math.max(380, 90 + 17 * data.arms.length)) : 300;
  const box = (id: string) => chartBox(id, chartHeight);
  const armByName = new Map(data.arms.map((a) => [a.name, a]));
  const swatchOf = (name: string | undefined) => {
    const arm = name === undefined ? undefined : armByName.get(name);
    return arm ? armSwatch(arm) : '';
  };

  const meta: [string, string][] = [
    ['data', data.dataset],
    ['seeds', data.seeds.join(', ')],
    ['target accuracy', data.target === null ? '-' : targetLabel(data.target)],
    ...(data.reference ? ([['reference arm', data.reference]] as [string, string][]) : []),
    ['base settings', data.base],
    ['made', formatDate(data.date)],
  ];
  const families = familiesOf(data.arms);
  const familyNote = families.some((f) => f.arms.length > 1) && families.length < data.arms.length
    ? ` <span class="muted">(${families.map((f) => (f.arms.length > 1 ? `${e(f.name)}\u00a0\u00d7${f.arms.length}` : e(f.name))).join(', ')})</span>`
    : '';
  const armSettings = data.arms.length
    ? `<details class="arm-settings"${data.arms.length <= OPEN_SETTINGS ? ' open' : ''}><summary><strong>${data.arms.length} arm${data.arms.length === 1 ? '' : 's'}</strong>${familyNote} <span class="hint">settings</span></summary>
<table><tbody>${data.arms.map((a) => `<tr><th>${armSwatch(a)}${e(a.name)}</th><td>${e(a.settings)}</td></tr>`).join('')}</tbody></table></details>`
    : '';

  const results = card(
    'Results',
    'One row per arm.',
    htmlTable(data.table.header, data.table.rows, data.table.rightAligned, undefined, (k) => swatchOf(data.table.rows[k]?.[0])) +
      `\n<ul class="notes">${data.table.notes.map((n) => `<li>${e(n)}</li>`).join('')}</ul>` +
      (data.failed.length
        ? `\n<div class="failed"><h3>Runs that did not complete</h3><ul>${data.failed.map((f) => `<li><strong>${e(f.arm)} seed ${f.seed}</strong>: ${e(f.error)}</li>`).join('')}</ul></div>`
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
      hasLoss ? box('chart-loss') : notRecorded('no step records in the runs’ metrics.jsonl'),
    ),
    card(
      'Training loss per worker',
      `Loss of each worker's own batch, mean over seeds.${thinned} Under label skew the workers see very different losses.${hasWorkerLoss ? ' ' + workerSelect : ''}`,
      hasWorkerLoss ? chartBox('chart-worker-loss', many ? 340 : 300) : notRecorded('no step records with workerLoss'),
    ),
    card(
      'Test accuracy',
      `On the test set${evalEvery ? `, every ${evalEvery} steps` : ''}.${bandText}${data.target === null ? '' : ' Dashed: the target.'}`,
      hasAccuracy ? box('chart-accuracy') : notRecorded('no eval records in the runs’ metrics.jsonl'),
    ),
    card(
      'Per-class test accuracy at the end',
      'After the last step, mean over the completed seeds (hover: ± std). A model pulled toward the classes it saw last scores unevenly.',
      hasPerClass ? box('chart-per-class') : notRecorded('no completed run with per-class accuracy'),
    ),
    card(
      'Gradient cosine similarity',
      `Mean pairwise cosine of the workers' gradients at each step: 1 = all push the same way; near 0 or below = they disagree.${bandText}${thinned}`,
      hasCosine ? box('chart-cosine') : notRecorded('step records carry no gradCosine (a run with one worker has none)'),
    ),
    card(
      'Weight divergence',
      `Distance of the weights from those of the reference arm${data.reference ? ` (${e(data.reference)})` : ''} with the same seed, at each evaluation.${
        hasDivergence && divergenceMissing.length ? ` Not recorded for: ${e(divergenceMissing.join(', '))}.` : ''
      }`,
      hasDivergence ? box('chart-divergence') : notRecorded('the runs\u2019 eval records carry no weightDivergence'),
    ),
  ].join('\n');

  const classLegend = !data.arms.some((a) => a.histogram)
    ? ''
    : data.classNames.map((c, k) => `<span class="key"><span class="swatch" style="background:var(--class-${k % 10})"></span>${e(c)}</span>`).join(' ');
  const hasClassCurves = data.arms.some((a) => a.perClassCurves.length > 0);
  const classCurves = !hasClassCurves
    ? ''
    : card(
        'Per-class test accuracy over time',
        `Each class's test accuracy at every evaluation, one chart per arm (mean over seeds): which class is forgotten, and when.<br>${data.classNames
          .map((c, k) => `<span class="key"><span class="swatch" style="background:var(--class-${k % 10})"></span>${e(c)}</span>`)
          .join(' ')}`,
        `<div class="histograms${many ? ' many' : ''}">${data.arms
          .map(
            (a, i) =>
              `<div class="class-accuracy" data-arm-panel="${e(a.name)}"><h3>${armSwatch(a)}${e(a.name)}</h3>${
                a.perClassCurves.length ? chartBox(`chart-class-accuracy-${i}`, many ? 200 : 220) : notRecorded('no evaluations with per-class accuracy')
              }</div>`,
          )
          .join('\n')}</div>`,
        'wide',
      );
  const hasFirstSteps = data.arms.some((a) => a.histogram?.firstSteps?.length);
  const firstSteps = !hasFirstSteps
    ? ''
    : card(
        'Classes per worker, step by step',
        `What each worker's batch held in the first steps: a row per worker, a column per step, each cell split by class in proportion to its samples. Over a whole run every worker sees every class; what differs is which classes meet in one step.<br>${classLegend}`,
        `<div class="histograms${many ? ' many' : ''}">${data.arms
          .map((a) => `<div class="step-mix" data-arm-panel="${e(a.name)}"><h3>${armSwatch(a)}${e(a.name)}</h3>${a.histogram?.firstSteps?.length ? stepMixGrid(a.histogram.firstSteps, data.classNames) : notRecorded('no firstSteps in this arm\u2019s label-histogram.json')}</div>`)
          .join('\n')}</div>`,
        'wide',
      );
  const histograms = card(
    'Label mix per worker',
    `Samples of each class handed to each worker over the run (label-histogram.json of one seed per arm).<br>${classLegend}`,
    `<div class="histograms${many ? ' many' : ''}">${data.arms
      .map(
        (a, i) =>
          `<div class="histogram" data-arm="${e(a.name)}" data-arm-panel="${e(a.name)}"><h3>${armSwatch(a)}${e(a.name)}${a.histogram ? ` <span class="muted">seed ${a.histogram.seed}</span>` : ''}</h3>${
            a.histogram ? chartBox(`chart-histogram-${i}`, many ? 200 : 220) : notRecorded('no label-histogram.json in this arm\u2019s runs')
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
<title>${e(data.title)}: shardlab report</title>
<style>${STYLE}</style>
</head>
<body${many ? ' class="many-arms"' : ''}>
<header class="top">
<div class="kicker">shardlab report</div>
<h1>${e(data.title)}</h1>
${data.description ? `<p class="description">${e(data.description)}</p>` : ''}
<dl class="meta">${meta.map(([k, v]) => `<div><dt>${e(k)}</dt><dd>${e(v)}</dd></div>`).join('')}</dl>
${armSettings}
</header>
<main>
${results}
${armFilter(data.arms, viewControls(multiSeed))}
<div class="grid${many ? ' many' : ''}">
${charts}
</div>
${classCurves}
${histograms}
${firstSteps}
${everyRun}
</main>
<footer>Made by shardlab. Self-contained: Chart.js and the data are inlined; the page loads nothing.</footer>
<script type="application/json" id="report-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${scriptSafe(script)}</script>
</body>
</html>
`;
}

/** Builds and writes report.html for the sweep's runs; returns its path. */
export function writeReportHtml(path: string, info: SweepInfo, runs: readonly RunResult[]): string {
  writeFileSync(path, renderReportHtml(buildReportData(info, runs), browserBundle('report')));
  return path;
}


const STYLE = `
:root {
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
details.arm-settings { margin: 0; }
details.arm-settings summary { font-weight: 500; }
details.arm-settings .muted, details.arm-settings .hint { color: #c9d3e3; }
details.arm-settings .hint { font-size: 12px; font-weight: 400; }
details.arm-settings .hint::before { content: "\\2014  "; }
details.arm-settings[open] .hint { display: none; }
details.arm-settings table { width: auto; margin-top: 6px; font-size: 12.5px; }
details.arm-settings th, details.arm-settings td { border-bottom: 1px solid rgba(255,255,255,.12); padding: 2px 14px 2px 0; font-size: 12.5px; color: #fff; font-weight: 400; white-space: nowrap; }
details.arm-settings th { font-weight: 600; }
details.arm-settings td { color: #d5ddea; white-space: normal; }
.swatch-line { display: inline-block; vertical-align: 0; margin-right: 6px; flex: none; }
header .swatch-line { background: rgba(255,255,255,.94); border-radius: 4px; padding: 2px 3px; box-sizing: content-box; vertical-align: -2px; }
.armbar { position: sticky; top: 0; z-index: 10; background: rgba(244,246,249,.96); backdrop-filter: blur(3px); border: 1px solid var(--line); border-radius: 10px; padding: 8px 14px; margin-bottom: 18px; box-shadow: 0 2px 6px rgba(16,24,40,.06); font-size: 13px; }
.armbar-row { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; }
.armbar-row + .armbar-row { margin-top: 5px; }
.armbar label.arm-check { display: inline-flex; align-items: center; gap: 4px; cursor: pointer; white-space: nowrap; }
.armbar label.arm-check input { margin: 0 2px 0 0; }
.armbar label.arm-check.off { color: var(--muted); }
.armbar label.arm-check.off .swatch-line { opacity: .35; }
.armbar label.arm-check.unmatched { opacity: .45; }
.armbar button { font: inherit; font-size: 12px; padding: 1px 9px; border: 1px solid #cfd4dc; border-radius: 12px; background: #fff; color: var(--ink); cursor: pointer; }
.armbar button:hover { border-color: var(--accent); }
.armbar-buttons { display: inline-flex; gap: 6px; }
.armbar input[type=search] { font: inherit; font-size: 12.5px; padding: 2px 8px; border: 1px solid #cfd4dc; border-radius: 6px; width: 230px; }
.families { display: inline-flex; flex-wrap: wrap; align-items: center; gap: 5px 6px; }
.families button.family { display: inline-flex; align-items: center; }
.families button.family .n { color: var(--muted); margin-left: 3px; font-size: 11px; }
.families button.family.off { background: transparent; color: var(--muted); text-decoration: line-through; }
.families button.family.off .swatch-line { opacity: .35; }
.families button.family.some { background: linear-gradient(90deg, #fff 50%, #eef1f5 50%); }
details.arm-list { margin-top: 6px; }
details.arm-list summary { font-size: 12.5px; color: var(--muted); }
.arm-checks { display: grid; grid-template-columns: repeat(auto-fill, minmax(215px, 1fr)); gap: 2px 14px; margin-top: 6px; max-height: 45vh; overflow: auto; }
.grid.many { grid-template-columns: 1fr; }
.histogram[hidden], .class-accuracy[hidden], .step-mix[hidden] { display: none; }
.mix-grid { display: inline-flex; flex-direction: column; gap: 2px; font-size: 11px; }
.mix-row { display: flex; gap: 2px; align-items: center; }
.mix-label { width: 2.5em; color: var(--muted); flex: none; }
.mix-cell { display: flex; flex-direction: column; width: 14px; height: 14px; flex: none; border-radius: 2px; overflow: hidden; background: var(--grid, #eee); }
.mix-cell span { display: block; min-height: 1px; }
.mix-axis { justify-content: space-between; color: var(--muted); }
.view-controls { display: inline-flex; flex-wrap: wrap; align-items: center; gap: 4px 16px; }
.view-controls label { display: inline-flex; align-items: center; gap: 5px; white-space: nowrap; cursor: pointer; }
.view-controls input[type=range] { width: 120px; }
.view-controls output { font-variant-numeric: tabular-nums; color: var(--muted); min-width: 2.4em; }
.histograms.many { grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 12px 14px; }
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
