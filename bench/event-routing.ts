import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signWebhook } from '../lib/webhook-signature.js';

/**
 * `npm run bench:events [-- --keys 100 --concurrency 16]` against a running `npm run dev`. Sends, per key, an ERP
 * invoice.received (starts an invoice-match run) and four goods.received (each applied to that run as an Update,
 * or held until the invoice started it), every event twice and in shuffled order, signed like the ERP would. Prints
 * the POST /events latency by outcome (a duplicate of a held event is routed again) and how long until every event
 * was settled.
 */
const state = JSON.parse(readFileSync(new URL('../.data/dev-state.json', import.meta.url), 'utf8')) as { apiUrl: string };
const secrets = JSON.parse(readFileSync(new URL('../.data/dev-secrets.json', import.meta.url), 'utf8')) as { apiKey: string; eventSecrets: { erp: string } };
const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] ?? 0) || fallback;
const keys = arg('keys', 100);
const concurrency = arg('concurrency', 16);

function summary(label: string, values: number[]): string {
  if (values.length === 0) return `${label.padEnd(30)} (none)`;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(0);
  return `${label.padEnd(30)} n ${String(values.length).padStart(4)}   p50 ${at(0.5).padStart(5)} ms   p90 ${at(0.9).padStart(5)} ms   max ${sorted.at(-1)!.toFixed(0).padStart(5)} ms`;
}

async function send(event: { id: string; body: string }) {
  const timestamp = Math.floor(Date.now() / 1000);
  const started = performance.now();
  const response = await fetch(`${state.apiUrl}/events/erp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': event.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secrets.eventSecrets.erp, event.id, timestamp, event.body) },
    body: event.body,
  });
  const answer = (await response.json()) as { status: string; duplicate?: boolean };
  return { ms: performance.now() - started, outcome: answer.duplicate ? 'duplicate' : answer.status };
}

async function main(): Promise<void> {
  const batch = randomUUID().slice(0, 6);
  const events = Array.from({ length: keys }, (_, i) => {
    const po = `PO-BENCH-${batch}-${i}`;
    const buyer = { name: 'Alex Rivera', email: 'alex.rivera@example.com' };
    return [
      { id: `bench_${batch}_${i}_inv`, body: JSON.stringify({ type: 'invoice.received', data: { invoiceNumber: `INV-${i}`, poNumber: po, supplier: 'Bench', amount: 400, currency: 'EUR', buyer } }) },
      ...[1, 2, 3, 4].map((n) => ({ id: `bench_${batch}_${i}_gr${n}`, body: JSON.stringify({ type: 'goods.received', data: { poNumber: po, receiptId: `GR-${i}-${n}`, amount: 100 } }) })),
    ];
  }).flat();
  const deliveries = [...events, ...events].sort(() => Math.random() - 0.5);
  const latencies = new Map<string, number[]>();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < deliveries.length; i = next++) {
        const { ms, outcome } = await send(deliveries[i]!);
        latencies.set(outcome, [...(latencies.get(outcome) ?? []), ms]);
      }
    }),
  );
  const sent = performance.now() - started;
  // Settled: none of this batch still received (a run did not answer yet) or held (its run had not started).
  const pendingOf = async (status: string) => {
    const response = await fetch(`${state.apiUrl}/events?status=${status}&limit=500`, { headers: { authorization: `Bearer ${secrets.apiKey}` } });
    return ((await response.json()) as { items: Array<{ webhookId: string }> }).items.filter((e) => e.webhookId.includes(batch)).length;
  };
  while ((await pendingOf('received')) + (await pendingOf('held')) > 0) await new Promise((resolve) => setTimeout(resolve, 200));
  const routed = performance.now() - started;
  console.log(`${deliveries.length} deliveries (${events.length} events × 2, shuffled) for ${keys} keys, ${concurrency} at a time`);
  for (const [outcome, values] of [...latencies].sort()) console.log(summary(`POST /events → ${outcome}`, values));
  console.log(`all sent in ${(sent / 1000).toFixed(1)} s (${(deliveries.length / (sent / 1000)).toFixed(0)} deliveries/s); all routed after ${(routed / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
