import { readFileSync } from 'node:fs';
import { createApiKey } from '../lib/api-keys.js';
import { createDb } from '../lib/db.js';

/**
 * `npm run bench:approvals [-- --runs 50 --concurrency 10]` against a running `npm run dev`. Prints, for one-step
 * capex runs: POST /runs latency, start → approval e-mail delivered, decision latency (POST → decided, i.e. the
 * Update validated, applied and audited), decision → run completed (PO created, requester mailed).
 */
const state = JSON.parse(readFileSync(new URL('../.data/dev-state.json', import.meta.url), 'utf8')) as { apiUrl: string; databaseUrl: string; mailUrl: string | null };
const secrets = JSON.parse(readFileSync(new URL('../.data/dev-secrets.json', import.meta.url), 'utf8')) as { apiKey: string };
const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] ?? 0) || fallback;
const runs = arg('runs', 50);
const concurrency = arg('concurrency', 10);

async function call(path: string, init: RequestInit & { key?: string } = {}) {
  const response = await fetch(`${state.apiUrl}${path}`, { ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${init.key ?? secrets.apiKey}` } });
  return (await response.json()) as Record<string, any>;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function summary(label: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(0);
  return `${label.padEnd(34)} p50 ${at(0.5).padStart(6)} ms   p90 ${at(0.9).padStart(6)} ms   max ${sorted.at(-1)!.toFixed(0).padStart(6)} ms`;
}

async function main(): Promise<void> {
  if (!state.mailUrl) throw new Error('The benchmark reads mail from the dev mail sink; run `npm run dev` without SMTP_URL');
  const db = createDb(state.databaseUrl);
  const approverKey = (await createApiKey(db, { name: 'bench', personEmail: 'morgan.lee@example.com', scopes: ['decisions:write'] })).key;
  await db.$disconnect();
  const figures = { start: [] as number[], mail: [] as number[], decide: [] as number[], complete: [] as number[] };
  let next = 0;
  const one = async () => {
    for (let i = next++; i < runs; i = next++) {
      const title = `Bench ${Date.now()}-${i}`;
      const t0 = performance.now();
      const { runId } = await call('/runs', { method: 'POST', body: JSON.stringify({ process: 'capex', input: { title, amount: 500, currency: 'EUR', costCenter: 'OPS-100', category: 'equipment', vendor: 'Bench', justification: 'Benchmark run, safe to ignore', requester: { name: 'Alex Rivera', email: 'alex.rivera@example.com' } } }) });
      const t1 = performance.now();
      await until(async () => {
        const mails = (await (await fetch(`${state.mailUrl}/api/messages`)).json()) as { items: Array<{ subject: string }> };
        return mails.items.some((m) => m.subject.includes(title)) ? true : undefined;
      });
      const t2 = performance.now();
      const { version } = await call(`/runs/${runId}/decisions`, { key: approverKey });
      const decided = await call(`/runs/${runId}/decisions`, { method: 'POST', key: approverKey, body: JSON.stringify({ decision: 'approve', version }) });
      if (decided.decision !== 'approved') throw new Error(`Decision failed: ${JSON.stringify(decided)}`);
      const t3 = performance.now();
      await until(async () => ((await call(`/runs/${runId}`)).status === 'completed' ? true : undefined));
      const t4 = performance.now();
      figures.start.push(t1 - t0);
      figures.mail.push(t2 - t1);
      figures.decide.push(t3 - t2);
      figures.complete.push(t4 - t3);
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: concurrency }, one));
  const seconds = (performance.now() - began) / 1000;
  console.log(`${runs} one-step capex runs, ${concurrency} at a time, ${seconds.toFixed(1)} s (${(runs / seconds).toFixed(1)} runs/s end to end)`);
  console.log(summary('POST /runs (201)', figures.start));
  console.log(summary('start → approval mail delivered', figures.mail));
  console.log(summary('decision (Update applied + audited)', figures.decide));
  console.log(summary('decision → run completed (PO, mail)', figures.complete));
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
