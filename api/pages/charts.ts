import { html, type SafeHtml } from './html.js';

/** Small server-rendered SVG charts: no library, no script, readable without colour (labels on every bar). */
export interface Series {
  label: string;
  color: string;
  values: number[];
}

const W = 520;
const H = 240;
const PAD = { top: 22, right: 12, bottom: 40, left: 64 };

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  return Math.ceil(max / magnitude) * magnitude;
}

function frame(title: string, body: SafeHtml, yLabel: string): SafeHtml {
  return html`<figure class="chart"><figcaption>${title}</figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${title}" xmlns="http://www.w3.org/2000/svg"><title>${title}</title>
<text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle" font-size="14" fill="#555">${yLabel}</text>
${body}</svg></figure>`;
}

function axes(labels: string[], max: number, format: (v: number) => string): SafeHtml {
  const innerH = H - PAD.top - PAD.bottom;
  const innerW = W - PAD.left - PAD.right;
  const ticks = [0, 0.5, 1].map((f) => html`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + innerH * (1 - f)}" y2="${PAD.top + innerH * (1 - f)}" stroke="#e5e7eb"/>
<text x="${PAD.left - 6}" y="${PAD.top + innerH * (1 - f) + 4}" text-anchor="end" font-size="14" fill="#555">${format(max * f)}</text>`);
  const step = labels.length > 8 ? Math.ceil(labels.length / 8) : 1;
  // About 8 px per character at this size: labels longer than their slot are shortened (the bar's tooltip has all).
  const fits = Math.max(3, Math.floor((innerW / labels.length) * step / 8));
  const short = (label: string) => (label.length > fits ? `${label.slice(0, fits - 1)}…` : label);
  const xLabels = labels.map((label, i) =>
    i % step === 0
      ? html`<text x="${PAD.left + (innerW * (i + 0.5)) / labels.length}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="14" fill="#555">${short(label)}</text>`
      : false,
  );
  return html`${ticks}${xLabels}`;
}

export function barChart(title: string, labels: string[], series: Series[], options: { yLabel: string; format?: (v: number) => string; max?: number }): SafeHtml {
  const format = options.format ?? ((v: number) => String(Math.round(v)));
  if (labels.length === 0) return frame(title, html`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#777">No data in this window</text>`, options.yLabel);
  const max = options.max ?? niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter(Number.isFinite))));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / labels.length;
  const barW = Math.max(2, (slot * 0.8) / series.length);
  const bars = labels.flatMap((label, i) =>
    series.map((s, j) => {
      const value = Number.isFinite(s.values[i]) ? s.values[i]! : 0;
      const h = (innerH * value) / max;
      const x = PAD.left + slot * i + slot * 0.1 + barW * j;
      return html`<rect x="${x.toFixed(1)}" y="${(PAD.top + innerH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${s.label} ${label}: ${format(value)}</title></rect>`;
    }),
  );
  const legend = series.map((s, j) => html`<rect x="${PAD.left + j * 130}" y="3" width="12" height="12" fill="${s.color}"/><text x="${PAD.left + j * 130 + 16}" y="14" font-size="14">${s.label}</text>`);
  return frame(title, html`${axes(labels, max, format)}${bars}${series.length > 1 ? legend : false}`, options.yLabel);
}

export function lineChart(title: string, labels: string[], series: Series, options: { yLabel: string; format?: (v: number) => string }): SafeHtml {
  const format = options.format ?? ((v: number) => String(Math.round(v)));
  const points = series.values.map((v, i) => [i, v] as const).filter(([, v]) => Number.isFinite(v));
  if (points.length === 0) return frame(title, html`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#777">No data in this window</text>`, options.yLabel);
  const max = niceMax(Math.max(...points.map(([, v]) => v)));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const xy = points.map(([i, v]) => [PAD.left + (innerW * (i + 0.5)) / labels.length, PAD.top + innerH - (innerH * v) / max] as const);
  const path = xy.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const dots = xy.map(([x, y], k) => html`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${series.color}"><title>${labels[points[k]![0]]}: ${format(points[k]![1])}</title></circle>`);
  return frame(title, html`${axes(labels, max, format)}<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"/>${dots}`, options.yLabel);
}

/** "3d 4h", "5h 12m", "12m", "40s": durations as people say them. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  if (seconds < 10) return `${Number(seconds.toFixed(1))}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
