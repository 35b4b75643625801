import { readFileSync } from 'node:fs';
import { createApiKey } from '../lib/api-keys.js';
import { createDb } from '../lib/db.js';
import { demoOrg } from './demo-org.js';

/**
 * `npm run seed:demo [-- --runs 200]` with `npm run dev` running: starts runs of every process through the API and
 * has the demo org's approvers act through the decisions API, each with a persona (quick, slow, silent, strict),
 * so the dashboard shows real spread: slow approvers, reminders, escalations, SLA breaches, rejections. Durations
 * are scaled down (one "hour" is a second) so a few hundred runs finish in minutes on the real workflows.
 */
interface DevState {
  apiUrl: string;
  databaseUrl: string;
}
const state = JSON.parse(readFileSync(new URL('../.data/dev-state.json', import.meta.url), 'utf8')) as DevState;
const secrets = JSON.parse(readFileSync(new URL('../.data/dev-secrets.json', import.meta.url), 'utf8')) as { apiKey: string };
const runsPerProcess = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 0) || 200;

type Persona = { name: string; delayMs: [number, number]; silent: number; reject: number };
const personas: Record<string, Persona> = {
  'morgan.lee@example.com': { name: 'quick', delayMs: [200, 1500], silent: 0.02, reject: 0.05 },
  'priya.shah@example.com': { name: 'slow', delayMs: [2500, 7000], silent: 0.15, reject: 0.1 },
  'sam.okafor@example.com': { name: 'strict', delayMs: [1000, 4000], silent: 0.05, reject: 0.25 },
  'dana.whitfield@example.com': { name: 'steady', delayMs: [800, 3000], silent: 0.05, reject: 0.05 },
  'riley.chen@example.com': { name: 'absent', delayMs: [3000, 9000], silent: 0.35, reject: 0.05 },
  'lena.fischer@example.com': { name: 'careful', delayMs: [1500, 5000], silent: 0.05, reject: 0.1 },
  'omar.haddad@example.com': { name: 'quick', delayMs: [300, 2000], silent: 0.05, reject: 0.15 },
  'jordan.blake@example.com': { name: 'busy', delayMs: [2000, 6000], silent: 0.2, reject: 0.05 },
};
const settings = { approval: { reminderAfter: '5s', timeout: '14s', onTimeout: 'escalate', escalationTimeout: '10s' } };
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;
const between = ([min, max]: [number, number]) => min + Math.random() * (max - min);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(path: string, init: RequestInit & { key?: string } = {}) {
  const response = await fetch(`${state.apiUrl}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${init.key ?? secrets.apiKey}`, ...init.headers },
  });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, any> };
}

function capexInput() {
  const amount = Math.round(pick([800, 4_000, 9_000, 18_000, 45_000, 120_000, 260_000]) * (0.6 + Math.random() * 0.8) * 100) / 100;
  return {
    title: `${pick(['Forklift', 'Laptops', 'Paint booth', 'Racking', 'CNC spindle', 'Dock leveller', 'Server refresh', 'Conveyor'])} ${Math.floor(Math.random() * 900 + 100)}`,
    amount, currency: 'EUR', costCenter: pick(['OPS-100', 'OPS-310', 'FIN-200', 'IT-400']),
    category: pick(['equipment', 'it-hardware', 'facilities', 'software']), vendor: pick(['Linde', 'Dell', 'Trumpf', 'SSI Schaefer']),
    justification: 'Seeded demo request: replaces worn equipment and removes overtime.',
    requester: pick(demoOrg.filter((p) => p.roles.length === 0).map((p) => ({ name: p.name, email: p.email }))),
  };
}

function contractInput() {
  return {
    title: `${pick(['Freight', 'Cleaning', 'Cloud hosting', 'Payroll', 'Catering'])} agreement ${Math.floor(Math.random() * 900 + 100)}`,
    counterparty: pick(['Northwind', 'Contoso', 'Globex', 'Initech']), contractType: pick(['msa', 'sow', 'dpa', 'nda']),
    annualValue: pick([5_000, 30_000, 80_000, 200_000]), currency: 'EUR', handlesPersonalData: Math.random() < 0.4,
    summary: 'Seeded demo contract for the dashboard.', requester: { name: 'Alex Rivera', email: 'alex.rivera@example.com' },
  };
}

/** One approver's behaviour on one run: wait, then approve, reject, or never answer. */
async function actAs(email: string, key: string, runId: string): Promise<void> {
  const persona = personas[email] ?? personas['dana.whitfield@example.com']!;
  await sleep(between(persona.delayMs));
  if (Math.random() < persona.silent) return;
  const reject = Math.random() < persona.reject;
  // Like any integration: read what is being decided (and its version), then decide on exactly that.
  const { version } = (await api(`/runs/${runId}/decisions`, { key })).body as { version: string };
  await api(`/runs/${runId}/decisions`, { method: 'POST', key, body: JSON.stringify(reject ? { decision: 'reject', comment: 'Not this quarter', version } : { decision: 'approve', version }) });
}

async function drive(runId: string, keys: Map<string, string>): Promise<string> {
  const acted = new Set<string>();
  for (;;) {
    const { body } = await api(`/runs/${runId}`);
    if (body.status && body.status !== 'running') return body.status as string;
    const pending = (body.approvals ?? []).filter((a: { state: string; requestId: string }) => a.state === 'pending' && !acted.has(a.requestId));
    for (const approval of pending) {
      acted.add(approval.requestId);
      const key = keys.get(approval.approver.email);
      if (key) void actAs(approval.approver.email, key, runId);
    }
    await sleep(500);
  }
}

async function main(): Promise<void> {
  const db = createDb(state.databaseUrl);
  const keys = new Map<string, string>();
  for (const person of demoOrg) keys.set(person.email, (await createApiKey(db, { name: 'seed:demo', personEmail: person.email, scopes: ['decisions:write'] })).key);
  await db.$disconnect();

  const outcomes: Record<string, number> = {};
  let started = 0;
  const queue = Array.from({ length: runsPerProcess * 2 }, (_, i) => (i % 2 === 0 ? 'capex' : 'contract'));
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const input = next === 'capex' ? capexInput() : contractInput();
      const { status, body } = await api('/runs', { method: 'POST', body: JSON.stringify({ process: next, input, settings }) });
      if (status !== 201) throw new Error(`Could not start a ${next} run: ${JSON.stringify(body)}`);
      started += 1;
      const outcome = await drive(body.runId, keys);
      outcomes[`${next}:${outcome}`] = (outcomes[`${next}:${outcome}`] ?? 0) + 1;
      if (started % 25 === 0) console.log(`${started} runs started; outcomes so far ${JSON.stringify(outcomes)}`);
    }
  };
  await Promise.all(Array.from({ length: 25 }, worker));
  console.log(`Done: ${JSON.stringify(outcomes)}. Open ${state.apiUrl}/ops for the dashboard.`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
