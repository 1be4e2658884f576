import { browserBundle, escapeHtml, scriptSafe } from '@shardlab/report';

/** The dashboard page: the layout here, the charts drawn by the bundled src/browser/dashboard.page.ts of @shardlab/report. */
export function dashboardPage(title: string, nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)} · shardlab live</title>
<style>
  :root { color-scheme: light; --ink: #1f2430; --muted: #5b6475; --line: #d8dce4; --bg: #f6f7f9; --ok: #2f855a; --bad: #c53030; --run: #2b6cb0; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
  header { padding: 14px 22px 10px; background: #fff; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 6px 22px; align-items: baseline; }
  h1 { font-size: 18px; margin: 0; }
  #status { color: var(--muted); }
  #connection { font-size: 12px; padding: 1px 8px; border-radius: 9px; background: #e2e8f0; }
  #connection.live { background: #c6f6d5; color: #22543d; }
  #connection.over { background: #e2e8f0; color: #4a5568; }
  #connection.lost { background: #fed7d7; color: #822727; }
  main { padding: 14px 22px 30px; display: grid; gap: 14px; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px 12px; min-width: 0; }
  section h2 { font-size: 14px; margin: 0 0 6px; }
  .chart { position: relative; height: 260px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #edf0f4; white-space: nowrap; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.selectable { cursor: pointer; }
  tr.selected td { background: #ebf4ff; }
  .planned { color: var(--muted); } .running { color: var(--run); font-weight: 600; } .completed { color: var(--ok); } .failed, .lost { color: var(--bad); }
  .wide { grid-column: 1 / -1; }
</style>
</head>
<body>
<header>
  <h1>${escapeHtml(title)}</h1>
  <span id="connection">connecting</span>
  <span id="status"></span>
</header>
<main>
  <section class="wide"><h2>Runs</h2><table id="runs"><thead><tr><th>run</th><th>status</th><th class="num">step</th><th class="num">loss</th><th class="num">test acc</th><th class="num">steps/s</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Training loss: mean and per worker <span id="loss-run" class="planned"></span></h2><div class="chart"><canvas id="chart-loss"></canvas></div></section>
  <section><h2>Test accuracy: overall and per class</h2><div class="chart"><canvas id="chart-accuracy"></canvas></div></section>
  <section><h2>Gradient cosine similarity (mean over worker pairs)</h2><div class="chart"><canvas id="chart-cosine"></canvas></div></section>
  <section><h2>Steps per second</h2><div class="chart"><canvas id="chart-speed"></canvas></div></section>
  <section class="wide"><h2>Workers of the shown run</h2><table id="workers"><thead><tr><th>worker</th><th>state</th><th class="num">last step</th><th class="num">batch loss</th><th class="num">gradient norm</th><th class="num">compute ms</th></tr></thead><tbody></tbody></table></section>
</main>
<script nonce="${nonce}">${scriptSafe(browserBundle('dashboard'))}</script>
</body>
</html>
`;
}
