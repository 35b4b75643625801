import { describe, expect, it } from 'vitest';
import { barChart, formatDuration, lineChart } from '../../api/pages/charts.js';

describe('SVG charts', () => {
  it('render empty data as a message, not NaN', () => {
    const svg = String(barChart('Empty', [], [{ label: 'x', color: '#000', values: [] }], { yLabel: 'runs' }));
    expect(svg).toContain('No data in this window');
    expect(svg).not.toContain('NaN');
    expect(String(lineChart('Empty', ['a'], { label: 'p50', color: '#000', values: [Number.NaN] }, { yLabel: 't' }))).toContain('No data');
  });

  it('scale bars to the largest value and escape labels', () => {
    const svg = String(barChart('Runs <per> week', ['w1', '<w2>'], [{ label: 'done', color: '#0a0', values: [5, 10] }], { yLabel: 'runs' }));
    expect(svg).toContain('aria-label="Runs &lt;per&gt; week"');
    expect(svg).toContain('&lt;w2&gt;');
    const heights = [...svg.matchAll(/<rect [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(2);
    expect(heights[1]! / heights[0]!).toBeCloseTo(2, 5);
    expect(svg).not.toContain('NaN');
  });

  it('draw one point per finite value', () => {
    const svg = String(lineChart('Trend', ['a', 'b', 'c'], { label: 'p50', color: '#00f', values: [3600, Number.NaN, 7200] }, { yLabel: 't', format: formatDuration }));
    expect([...svg.matchAll(/<circle /g)]).toHaveLength(2);
    expect(svg).toMatch(/<path d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+"/);
  });

  it('formats durations the way people say them', () => {
    expect([0.25, 42, 600, 7_500, 190_000].map(formatDuration)).toEqual(['0.3s', '42s', '10m', '2h 5m', '2d 4h']);
    expect(formatDuration(null)).toBe('—');
  });
});
