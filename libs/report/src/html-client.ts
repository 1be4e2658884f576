/*
 * The script report.html runs: draws the charts from the embedded JSON (ReportData, see
 * html-data.ts) with the inlined Chart.js. Plain browser JavaScript, kept free of backticks
 * so it can live in this string. Every chart is drawn at load (animation off), and the page
 * sets data-charts="<n>" on <body> when done (a failure shows as a page error).
 */
export const REPORT_SCRIPT = String.raw`
(function () {
  'use strict';
  var DATA = JSON.parse(document.getElementById('report-data').textContent);
  var css = getComputedStyle(document.documentElement);
  var charts = [];

  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#3b4252';
  Chart.defaults.plugins.legend.labels.boxWidth = 14;
  Chart.defaults.plugins.legend.labels.boxHeight = 3;
  Chart.defaults.elements.point.radius = 0;
  Chart.defaults.elements.line.borderWidth = 1.6;

  // The palettes are CSS variables of the page (--arm-0.., --class-0..), shared with the HTML swatches.
  function armColor(i) { return css.getPropertyValue('--arm-' + (i % 10)).trim(); }
  function classColor(c) { return css.getPropertyValue('--class-' + (c % 10)).trim(); }
  function workerColor(w, n) { return 'hsl(' + Math.round((w * 360) / Math.max(n, 1) + 200) % 360 + ', 62%, 46%)'; }
  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }
  function points(xs, ys) { return xs.map(function (x, i) { return { x: x, y: ys[i] }; }); }
  function percent(v) { return Math.round(v * 1000) / 10 + '%'; }

  /** Mean line plus a shaded min-max band, as three datasets of one legend group. */
  function bandDatasets(b, color, label, group, seeds) {
    var datasets = [];
    if (seeds > 1) {
      datasets.push({ label: label + ' max', group: group, band: true, data: points(b.x, b.max), borderWidth: 0, pointRadius: 0, fill: false, backgroundColor: 'transparent', borderColor: 'transparent', spanGaps: true });
      datasets.push({ label: label + ' min', group: group, band: true, data: points(b.x, b.min), borderWidth: 0, pointRadius: 0, fill: '-1', backgroundColor: alpha(color, 0.16), borderColor: 'transparent', spanGaps: true });
    }
    datasets.push({ label: label, group: group, data: points(b.x, b.mean), borderColor: color, backgroundColor: color, fill: false, spanGaps: true });
    return datasets;
  }

  /** Legend click hides or shows a whole group (mean line and its band). */
  function toggleGroup(e, item, legend) {
    var chart = legend.chart;
    var group = chart.data.datasets[item.datasetIndex].group;
    var show = !chart.isDatasetVisible(item.datasetIndex);
    chart.data.datasets.forEach(function (d, i) { if (d.group === group) chart.setDatasetVisibility(i, show); });
    chart.update();
  }

  function lineOptions(xTitle, yTitle, yExtra) {
    var y = Object.assign({ title: { display: true, text: yTitle } }, yExtra || {});
    return {
      parsing: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: { type: 'linear', title: { display: true, text: xTitle }, ticks: { precision: 0 } },
        y: y
      },
      plugins: {
        legend: { position: 'bottom', onClick: toggleGroup, labels: { filter: function (item, data) { return !data.datasets[item.datasetIndex].band; } } },
        tooltip: { filter: function (item) { return !item.dataset.band; } }
      }
    };
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return null;
    var chart = new Chart(canvas, config);
    charts.push(chart);
    return chart;
  }

  function bandChart(id, key, yTitle, yExtra, extraDatasets) {
    var datasets = [];
    DATA.arms.forEach(function (arm, i) {
      if (arm[key]) datasets = datasets.concat(bandDatasets(arm[key], armColor(i), arm.name, arm.name, arm.seeds.length));
    });
    return draw(id, { type: 'line', data: { datasets: datasets.concat(extraDatasets || []) }, options: lineOptions('step', yTitle, yExtra) });
  }

  var accuracyAxis = { min: 0, max: 1, ticks: { callback: function (v) { return percent(v); } } };
  var zeroLine = { grid: { color: function (ctx) { return ctx.tick && ctx.tick.value === 0 ? '#8a93a6' : 'rgba(0,0,0,0.08)'; } } };

  bandChart('chart-loss', 'loss', 'training loss (mean of the workers)');

  var targetLine = [];
  if (DATA.target !== null) {
    var lastStep = 0;
    DATA.arms.forEach(function (a) { if (a.accuracy) lastStep = Math.max(lastStep, a.accuracy.x[a.accuracy.x.length - 1]); });
    targetLine.push({ label: 'target ' + percent(DATA.target), group: 'target', data: [{ x: 0, y: DATA.target }, { x: lastStep, y: DATA.target }], borderColor: '#6b7280', borderDash: [6, 4], borderWidth: 1.2, fill: false });
  }
  bandChart('chart-accuracy', 'accuracy', 'test accuracy', accuracyAxis, targetLine);
  bandChart('chart-cosine', 'cosine', 'gradient cosine similarity', Object.assign({ suggestedMin: -0.2, suggestedMax: 1 }, zeroLine));
  bandChart('chart-divergence', 'divergence', 'weight divergence from ' + (DATA.reference || 'the reference'), { beginAtZero: true });

  // Per-worker loss of one arm, chosen with a select.
  var workerChart = null;
  function workerDatasets(arm) {
    return arm.workerLoss.map(function (ys, w) {
      var color = workerColor(w, arm.workerLoss.length);
      return { label: 'worker ' + w, group: 'w' + w, data: points(arm.workerLossX, ys), borderColor: color, backgroundColor: color, fill: false, spanGaps: true };
    });
  }
  var select = document.getElementById('worker-arm');
  if (select && document.getElementById('chart-worker-loss')) {
    var first = DATA.arms.filter(function (a) { return a.workerLoss.length > 0; })[0];
    if (first) select.value = first.name;
    var selected = function () { return DATA.arms.filter(function (a) { return a.name === select.value; })[0]; };
    workerChart = draw('chart-worker-loss', { type: 'line', data: { datasets: workerDatasets(selected()) }, options: lineOptions('step', 'training loss of the worker\u2019s batch') });
    select.addEventListener('change', function () {
      workerChart.data.datasets = workerDatasets(selected());
      workerChart.update();
    });
  }

  // Final per-class accuracy: classes on x, one bar per arm.
  draw('chart-per-class', {
    type: 'bar',
    data: {
      labels: DATA.classNames,
      datasets: DATA.arms.map(function (arm, i) {
        return { label: arm.name, std: arm.perClassStd, data: arm.perClassMean, backgroundColor: alpha(armColor(i), 0.85), borderColor: armColor(i), borderWidth: 1 };
      })
    },
    options: {
      scales: { x: { title: { display: true, text: 'class' } }, y: Object.assign({ title: { display: true, text: 'test accuracy at the end' } }, accuracyAxis) },
      plugins: {
        legend: { position: 'bottom', labels: { boxHeight: 12 } },
        tooltip: { callbacks: { label: function (ctx) {
          var sd = ctx.dataset.std[ctx.dataIndex];
          return ctx.dataset.label + ': ' + percent(ctx.parsed.y) + (sd === null || sd === undefined ? '' : ' \u00b1 ' + percent(sd));
        } } }
      }
    }
  });

  // Label mix per worker: one stacked bar chart per arm.
  DATA.arms.forEach(function (arm, i) {
    var h = arm.histogram;
    if (!h) return;
    draw('chart-histogram-' + i, {
      type: 'bar',
      data: {
        labels: h.perWorker.map(function (_, w) { return 'worker ' + w; }),
        datasets: h.classNames.map(function (name, c) {
          return { label: name, data: h.perWorker.map(function (counts) { return counts[c]; }), backgroundColor: classColor(c), borderWidth: 0 };
        })
      },
      options: {
        scales: { x: { stacked: true, ticks: { maxRotation: 0 } }, y: { stacked: true, title: { display: true, text: 'samples handed to the worker' } } },
        plugins: { legend: { display: false } }
      }
    });
  });

  window.reportCharts = charts;
  document.body.setAttribute('data-charts', String(charts.length));
})();
`;
