import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolveGoTool } from './go-tool.js';

/**
 * Prometheus's own text-format parser and metric-name linter (client_golang's promlint, what `promtool check
 * metrics` runs), as a small Go program in dev/promlint, built once from the Go module proxy into $HOME/go/bin
 * (named after its source's hash, so a changed tool is rebuilt) and reused by every test run after.
 */
const source = fileURLToPath(new URL('./promlint/', import.meta.url));

export function resolvePromlint(): Promise<string> {
  return resolveGoTool(source, 'opsflow-promlint', process.env.PROMLINT_PATH);
}

export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PrometheusCheck {
  samples: PrometheusSample[];
  /** Names Prometheus's conventions object to, e.g. a counter without `_total`, a unit in milliseconds. */
  problems: Array<{ metric: string; text: string }>;
}

/** Parses exposition text the way Prometheus does; rejects what it would reject, with its message. */
export async function checkPrometheusText(text: string): Promise<PrometheusCheck> {
  const child = spawn(await resolvePromlint(), [], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.end(text);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`Not valid Prometheus text: ${Buffer.concat(err).toString().trim()}`);
  const parsed = JSON.parse(Buffer.concat(out).toString()) as { samples: Array<Omit<PrometheusSample, 'value'> & { value: string }>; problems: PrometheusCheck['problems'] };
  return { problems: parsed.problems, samples: parsed.samples.map((s) => ({ ...s, value: Number(s.value) })) };
}
