/*
 * The script report.html runs: draws the charts from the embedded JSON (ReportData, see
 * html-data.ts) with the inlined Chart.js, and runs the arm filter (#arm-filter, see html.ts),
 * which shows or hides arms in every chart at once. Plain browser JavaScript, kept free of
 * backticks so it can live in this string. Every chart is drawn at load (animation off), and
 * the page sets data-charts="<n>" on <body> when done (a failure shows as a page error).
 * window.reportCharts holds the charts, window.reportArms the arms the filter shows.
 */
export const REPORT_SCRIPT = String.raw`
(function () {
  'use strict';
  var DATA = JSON.parse(document.getElementById('report-data').textContent);
  var css = getComputedStyle(document.documentElement);
  var charts = [];
  // Many arms (html.ts MANY_ARMS): full-width charts, compact legend on the right, fainter bands.
  var many = document.body.classList.contains('many-arms');
  /** Arm name -> shown by the arm filter. */
  var shown = {};
  DATA.arms.forEach(function (a) { shown[a.name] = true; });

  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#3b4252';
  Chart.defaults.plugins.legend.labels.boxWidth = many ? 10 : 14;
  Chart.defaults.plugins.legend.labels.boxHeight = many ? 10 : 12;
  Chart.defaults.plugins.legend.labels.padding = many ? 4 : 10;
  Chart.defaults.plugins.legend.labels.font = { size: many ? 11 : 12 };
  Chart.defaults.elements.point.radius = 0;
  Chart.defaults.elements.line.borderWidth = 1.6;

  // Arm colours and dashes come with the data (html-data.ts armStyles); class colours are CSS
  // variables of the page (--class-0..), shared with the HTML swatches.
  function classColor(c) { return css.getPropertyValue('--class-' + (c % 10)).trim(); }
  function workerColor(w, n) { return 'hsl(' + Math.round((w * 360) / Math.max(n, 1) + 200) % 360 + ', 62%, 46%)'; }
  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }
  function points(xs, ys) { return xs.map(function (x, i) { return { x: x, y: ys[i] }; }); }
  function percent(v) { return Math.round(v * 1000) / 10 + '%'; }

  /**
   * Mean line plus a shaded min-max band, as three datasets of one legend group. Datasets of an
   * arm carry arm: <name> (the filter shows or hides them) and look: their normal colours.
   */
  function bandDatasets(b, arm) {
    var datasets = [];
    var color = arm.color;
    if (arm.seeds.length > 1) {
      var fillColor = alpha(color, many ? 0.07 : 0.16);
      datasets.push({ label: arm.name + ' max', group: arm.name, arm: arm.name, band: true, data: points(b.x, b.max), borderWidth: 0, pointRadius: 0, fill: false, backgroundColor: 'transparent', borderColor: 'transparent', spanGaps: true });
      datasets.push({ label: arm.name + ' min', group: arm.name, arm: arm.name, band: true, data: points(b.x, b.min), borderWidth: 0, pointRadius: 0, fill: '-1', backgroundColor: fillColor, borderColor: 'transparent', spanGaps: true,
        look: { backgroundColor: fillColor, borderColor: 'transparent', borderWidth: 0 } });
    }
    datasets.push({ label: arm.name, group: arm.name, arm: arm.name, data: points(b.x, b.mean), borderColor: color, backgroundColor: color, borderDash: arm.dash, fill: false, spanGaps: true,
      look: { backgroundColor: color, borderColor: color, borderWidth: Chart.defaults.elements.line.borderWidth } });
    return datasets;
  }

  /** Legend click hides or shows a whole group (mean line and its band), in that chart only. */
  function toggleGroup(e, item, legend) {
    var chart = legend.chart;
    var group = chart.data.datasets[item.datasetIndex].group;
    var show = !chart.isDatasetVisible(item.datasetIndex);
    chart.data.datasets.forEach(function (d, i) { if (d.group === group) chart.setDatasetVisibility(i, show); });
    chart.update();
  }

  /** Brings one arm forward in every chart (others faded), or all back with null. */
  var highlighted = null;
  function highlight(name) {
    if (name === highlighted) return;
    highlighted = name;
    charts.forEach(function (chart) {
      var changed = false;
      chart.data.datasets.forEach(function (d) {
        if (!d.look) return;
        var faded = name !== null && d.arm !== name;
        var bar = chart.config.type === 'bar';
        d.borderColor = faded && !d.band ? alpha(d.look.borderColor, 0.18) : d.look.borderColor;
        d.backgroundColor = faded ? (d.band ? 'transparent' : alpha(bar ? d.look.borderColor : d.look.backgroundColor, bar ? 0.15 : 0.18)) : d.look.backgroundColor;
        d.borderWidth = name !== null && d.arm === name && !d.band && !bar ? 3 : d.look.borderWidth;
        changed = true;
      });
      if (changed) chart.update();
    });
  }

  /** Legend items: only the arms the filter shows, bands left out; lines drawn with their dash. */
  function legendLabels(pointStyleLine) {
    return {
      filter: function (item, data) {
        var d = data.datasets[item.datasetIndex];
        return !d.band && (d.arm === undefined || shown[d.arm]);
      },
      generateLabels: function (chart) {
        var items = Chart.defaults.plugins.legend.labels.generateLabels(chart);
        if (!pointStyleLine) return items;
        return items.map(function (item) {
          var d = chart.data.datasets[item.datasetIndex];
          item.pointStyle = 'line';
          item.lineWidth = 2.6;
          item.strokeStyle = d.look ? d.look.borderColor : item.strokeStyle;
          item.lineDash = d.borderDash || [];
          return item;
        });
      },
      usePointStyle: pointStyleLine,
      pointStyleWidth: pointStyleLine ? 24 : undefined
    };
  }

  function legendOptions(armLegend, pointStyleLine) {
    return {
      position: armLegend && many ? 'right' : 'bottom',
      align: armLegend && many ? 'start' : 'center',
      onClick: toggleGroup,
      onHover: function (e, item, legend) {
        var d = legend.chart.data.datasets[item.datasetIndex];
        highlight(d && d.arm !== undefined ? d.arm : null);
      },
      onLeave: function () { highlight(null); },
      labels: legendLabels(pointStyleLine)
    };
  }

  function lineOptions(xTitle, yTitle, yExtra, armLegend) {
    var y = Object.assign({ title: { display: true, text: yTitle } }, yExtra || {});
    return {
      parsing: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: { type: 'linear', title: { display: true, text: xTitle }, ticks: { precision: 0 } },
        y: y
      },
      plugins: {
        legend: legendOptions(armLegend !== false, true),
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
    DATA.arms.forEach(function (arm) {
      if (arm[key]) datasets = datasets.concat(bandDatasets(arm[key], arm));
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
    workerChart = draw('chart-worker-loss', { type: 'line', data: { datasets: workerDatasets(selected()) }, options: lineOptions('step', 'training loss of the worker\u2019s batch', undefined, false) });
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
      datasets: DATA.arms.map(function (arm) {
        var fill = alpha(arm.color, 0.85);
        return { label: arm.name, group: arm.name, arm: arm.name, std: arm.perClassStd, data: arm.perClassMean, backgroundColor: fill, borderColor: arm.color, borderWidth: 1,
          look: { backgroundColor: fill, borderColor: arm.color, borderWidth: 1 } };
      })
    },
    options: {
      scales: { x: { title: { display: true, text: 'class' } }, y: Object.assign({ title: { display: true, text: 'test accuracy at the end' } }, accuracyAxis) },
      plugins: {
        legend: legendOptions(true, false),
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

  // The arm filter: checkboxes, and with many arms a name filter and family buttons. An arm is
  // shown when its box is ticked and its name matches the filter (words: all of them; a comma
  // separates alternatives). It sets every chart's datasets of the arm, the per-arm histograms
  // and the arms of the per-worker select.
  var bar = document.getElementById('arm-filter');
  var search = document.getElementById('arm-search');
  var boxes = bar ? Array.prototype.slice.call(bar.querySelectorAll('input[type=checkbox]')) : [];
  function matches(name) {
    var text = search ? search.value.trim().toLowerCase() : '';
    if (!text) return true;
    name = name.toLowerCase();
    return text.split(',').some(function (alt) {
      var words = alt.trim().split(/\s+/).filter(Boolean);
      return words.length > 0 && words.every(function (w) { return name.indexOf(w) >= 0; });
    });
  }
  function applyFilter() {
    var count = 0;
    boxes.forEach(function (box) {
      var match = matches(box.value);
      shown[box.value] = box.checked && match;
      if (shown[box.value]) count++;
      box.parentNode.classList.toggle('off', !box.checked);
      box.parentNode.classList.toggle('unmatched', !match);
    });
    charts.forEach(function (chart) {
      var changed = false;
      chart.data.datasets.forEach(function (d, i) {
        if (d.arm === undefined) return;
        chart.setDatasetVisibility(i, shown[d.arm]);
        changed = true;
      });
      if (changed) chart.update();
    });
    Array.prototype.forEach.call(document.querySelectorAll('.histogram[data-arm]'), function (el) {
      el.hidden = !shown[el.getAttribute('data-arm')];
    });
    Array.prototype.forEach.call(bar.querySelectorAll('button.family'), function (b) {
      var family = b.getAttribute('data-family');
      var members = DATA.arms.filter(function (a) { return a.family === family; });
      var on = members.filter(function (a) { return shown[a.name]; }).length;
      b.classList.toggle('on', on === members.length);
      b.classList.toggle('off', on === 0);
      b.classList.toggle('some', on > 0 && on < members.length);
    });
    var counter = document.getElementById('arm-count');
    if (counter) counter.textContent = count + ' of ' + DATA.arms.length + ' shown';
    if (select && workerChart) {
      Array.prototype.forEach.call(select.options, function (o) { o.hidden = !shown[o.value]; });
      if (!shown[select.value]) {
        var next = Array.prototype.filter.call(select.options, function (o) { return shown[o.value]; })[0];
        if (next) {
          select.value = next.value;
          select.dispatchEvent(new Event('change'));
        }
      }
    }
    window.reportArms = DATA.arms.map(function (a) { return a.name; }).filter(function (n) { return shown[n]; });
  }
  if (bar) {
    boxes.forEach(function (box) {
      box.addEventListener('change', applyFilter);
      box.parentNode.addEventListener('mouseenter', function () { if (shown[box.value]) highlight(box.value); });
      box.parentNode.addEventListener('mouseleave', function () { highlight(null); });
    });
    if (search) search.addEventListener('input', applyFilter);
    bar.addEventListener('click', function (e) {
      var button = e.target.closest('button');
      if (!button) return;
      var which = button.getAttribute('data-arms');
      var family = button.getAttribute('data-family');
      if (which) {
        boxes.forEach(function (box) { box.checked = which === 'all'; });
        if (which === 'all' && search) search.value = '';
      } else if (family !== null) {
        var members = boxes.filter(function (box) { return DATA.arms.some(function (a) { return a.name === box.value && a.family === family; }); });
        var allShown = members.every(function (box) { return shown[box.value]; });
        // Showing a family the name filter hides: the arms shown now stay ticked, the others
        // are unticked, and the name filter is cleared, so that only the family is added.
        if (!allShown && search && search.value && members.some(function (box) { return !matches(box.value); })) {
          boxes.forEach(function (box) { box.checked = shown[box.value]; });
          search.value = '';
        }
        members.forEach(function (box) { box.checked = !allShown; });
      }
      applyFilter();
    });
  }
  window.reportArms = DATA.arms.map(function (a) { return a.name; });

  window.reportCharts = charts;
  document.body.setAttribute('data-charts', String(charts.length));
})();
`;
