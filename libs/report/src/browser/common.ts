/* What the pages' browser code shares: element lookup, colours, Chart.js defaults. */
import { Chart } from 'chart.js';
import { CLASS_COLORS } from '../palette';

/** The element with this id; a missing one is a bug in the page, so it throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page has no #${id}`);
  return el as T;
}

export function classColor(c: number): string {
  return CLASS_COLORS[c % CLASS_COLORS.length]!;
}

/** Workers spread around the hue circle. */
export function workerColor(w: number, n: number): string {
  return `hsl(${Math.round((w * 360) / Math.max(n, 1) + 200) % 360}, 62%, 46%)`;
}

/** #rrggbb with alpha, as rgba(). */
export function alpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
}

/** Static pages: no animation, fill the box, the page's font, thin lines without points. */
export function setChartDefaults(): void {
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#3b4252';
  Chart.defaults.elements.point.radius = 0;
  Chart.defaults.elements.line.borderWidth = 1.6;
}
