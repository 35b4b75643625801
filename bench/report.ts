import { loadavg } from 'node:os';

/** Figures of one measure: one value per repetition and side (a repetition's own median or rate). */
export interface MeasureRow {
  measure: string;
  unit: string;
  opsflow: number[];
  /** Empty when the baseline has no such figure (e.g. database commits: it has no database). */
  bare: number[];
  /** What the issue asks for, in words (e.g. "≤ 1.3×", "≤ 60"). */
  goal: string;
  /** Whether the goal is met, given the medians. */
  met?: (opsflow: number, bare: number | undefined) => boolean;
  note?: string;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

function figure(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function minMedian(values: number[]): string {
  return values.length ? `${figure(Math.min(...values))} / ${figure(median(values))}` : '—';
}

/** Load average now, as `uptime` prints it. */
export function loadLine(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
}

/** The issue's goal table: measure, Opsflow, bare, ratio, n, min/median of each side, goal and whether it is met. */
export function goalTable(rows: MeasureRow[]): string {
  const lines = [
    '| measure | Opsflow | bare | ratio | n | Opsflow min / median | bare min / median | goal | met |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const ops = median(row.opsflow);
    const bare = row.bare.length ? median(row.bare) : undefined;
    const ratio = bare !== undefined && bare !== 0 ? `${(ops / bare).toFixed(2)}×` : '—';
    const met = row.met ? (row.met(ops, bare) ? 'yes' : 'no') : '';
    const unit = row.unit ? ` ${row.unit}` : '';
    lines.push(
      `| ${row.measure}${row.note ? ` (${row.note})` : ''} | ${figure(ops)}${unit} | ${bare !== undefined ? `${figure(bare)}${unit}` : '—'} | ${ratio} | ${Math.max(row.opsflow.length, row.bare.length)} | ${minMedian(row.opsflow)} | ${minMedian(row.bare)} | ${row.goal} | ${met} |`,
    );
  }
  return lines.join('\n');
}

export const ratioAtMost = (limit: number) => (ops: number, bare: number | undefined) => bare !== undefined && ops / bare <= limit;
export const ratioAtLeast = (limit: number) => (ops: number, bare: number | undefined) => bare !== undefined && ops / bare >= limit;
export const atMost = (limit: number) => (ops: number) => ops <= limit;
