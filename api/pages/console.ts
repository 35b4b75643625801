import type { RunHealth } from '../../lib/run-health.js';
import type { Kpis } from '../kpi-types.js';
import { CHANNEL_LABELS, type runDetail, type runSummary } from '../run-views.js';
import { barChart, formatDuration, lineChart } from './charts.js';
import { html, layout, type SafeHtml } from './html.js';
import { formField, type FormField } from './revision.js';

type RunRow = ReturnType<typeof runSummary>;
type RunDetail = ReturnType<typeof runDetail>;

const nav = html`<nav><a href="/ops">Dashboard</a><a href="/ops/runs">Runs</a><a href="/ops/policies">Policies</a><form method="post" action="/ops/logout"><button>Sign out</button></form></nav>`;
/** Every console page: the console's navigation, wide layout. */
export const consolePage = (title: string, body: SafeHtml, status?: number) => layout({ title, body, wide: true, nav, status });
const page = consolePage;
const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 16) : '—');
const money = (amount: number | null, currency: string | null) =>
  amount === null ? '—' : `${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency ?? ''}`;
const badge = (status: string) => html`<span class="${`status status-${status}`}">${status}</span>`;

export function loginPage(error?: string): string {
  return layout({
    title: 'Sign in',
    status: error ? 401 : undefined,
    body: html`<h1>Ops console</h1>
<p>Paste your Opsflow API key (it needs <code>runs:read</code>). <code>npm run dev</code> prints one.</p>
${error && html`<div class="error-summary" role="alert"><p>${error}</p></div>`}
<form method="post" action="/ops/login"><label for="key">API key</label><input id="key" name="key" type="password" autocomplete="off" required>
<div class="actions"><button class="btn btn-approve" type="submit">Sign in</button></div></form>`,
  });
}

export function messagePage(title: string, message: string, status: number): string {
  return page(title, html`<h1>${title}</h1><p>${message}</p>`, status);
}

export function dashboardPage(k: Kpis, processes: Array<{ key: string; title: string }>, filters: { process?: string; from: string; to: string }): string {
  const weeks = k.weeklyThroughput.map((w) => w.weekStart.slice(5));
  const stat = (label: string, value: string | number) => html`<div class="stat"><b>${value}</b>${label}</div>`;
  const decisions = k.channels.reduce((sum, c) => sum + c.decided, 0);
  const share = (decided: number) => `${Math.round((decided / decisions) * 100)}%`;
  const body = html`<h1>Operations dashboard</h1>
<form class="filters" method="get" action="/ops">
<label>Process<select name="process"><option value="">All processes</option>${processes.map((p) => html`<option value="${p.key}"${p.key === filters.process ? html` selected` : false}>${p.title}</option>`)}</select></label>
<label>From<input type="date" name="from" value="${filters.from}"></label><label>To<input type="date" name="to" value="${filters.to}"></label>
<button class="btn" type="submit">Show</button></form>
<p>Start a run: ${processes.map((p) => html`<a href="/ops/start/${p.key}">${p.title}</a> `)}</p>
<div class="stats">${stat('started', k.runs.started)}${stat('completed', k.runs.completed)}${stat('rejected', k.runs.rejected)}${stat('expired', k.runs.expired)}${stat('failed', k.runs.failed)}${stat('running', k.runs.running)}${stat('cycle time p50', formatDuration(k.cycleTime.p50))}${stat('cycle time p90', formatDuration(k.cycleTime.p90))}${stat('reminders', k.reminders)}${stat('escalations', k.escalations)}</div>
<div class="charts">
${lineChart('Cycle time p50 by week', k.cycleTimeByWeek.map((w) => w.weekStart.slice(5)), { label: 'p50', color: '#1d4ed8', values: k.cycleTimeByWeek.map((w) => w.p50 ?? Number.NaN) }, { yLabel: 'time', format: formatDuration })}
${barChart('Throughput per week', weeks, [{ label: 'started', color: '#94a3b8', values: k.weeklyThroughput.map((w) => w.started) }, { label: 'completed', color: '#15803d', values: k.weeklyThroughput.map((w) => w.completed) }], { yLabel: 'runs' })}
${barChart('Decision time per step', k.steps.map((s) => s.step), [{ label: 'p50', color: '#60a5fa', values: k.steps.map((s) => s.p50 ?? 0) }, { label: 'p90', color: '#1e3a8a', values: k.steps.map((s) => s.p90 ?? 0) }], { yLabel: 'time', format: formatDuration })}
${barChart('SLA breach rate per step', k.steps.map((s) => s.step), [{ label: 'breach rate', color: '#b91c1c', values: k.steps.map((s) => s.breachRate * 100) }], { yLabel: '% of requests', format: (v) => `${Math.round(v)}%`, max: 100 })}
</div>
<h2>Oldest open approvals</h2>
${k.oldestOpen.length === 0 ? html`<p>Nothing is waiting.</p>` : html`<div class="table-scroll"><table class="data"><thead><tr><th>Run</th><th>Step</th><th>Approver</th><th>Waiting</th><th>Expires</th></tr></thead><tbody>
${k.oldestOpen.map((o) => html`<tr><td><a href="/ops/runs/${o.runId}">${o.runTitle}</a></td><td>${o.stepTitle}</td><td>${o.approverName}</td><td>${formatDuration(o.waitingSeconds)}</td><td>${when(o.expiresAt)}</td></tr>`)}</tbody></table></div>`}
<h2>Approvers</h2>
<div class="table-scroll"><table class="data"><thead><tr><th>Approver</th><th>Decided</th><th>p50</th><th>p90</th><th>Open</th></tr></thead><tbody>
${k.approvers.map((a) => html`<tr><td>${a.name}</td><td>${a.decided}</td><td>${formatDuration(a.p50)}</td><td>${formatDuration(a.p90)}</td><td>${a.open}</td></tr>`)}</tbody></table></div>
<h2>Decisions by channel</h2>
${k.channels.length === 0 ? html`<p>No decisions yet.</p>` : html`<div class="table-scroll"><table class="data" id="channels"><thead><tr><th>Channel</th><th>Decided</th><th>Share</th><th>Time to decide p50</th></tr></thead><tbody>
${k.channels.map((c) => html`<tr><td>${CHANNEL_LABELS[c.channel]}</td><td>${c.decided}</td><td>${share(c.decided)}</td><td>${formatDuration(c.p50)}</td></tr>`)}</tbody></table></div>`}
<h2>Incidents</h2>
${k.incidents.length === 0 ? html`<p>No incidents in this window.</p>` : html`<div class="table-scroll"><table class="data" id="incidents"><thead><tr><th>Severity</th><th>Opened</th><th>Acknowledged</th><th>Time to acknowledge p50</th><th>p90</th><th>Breaches</th><th>Escalated</th><th>Resolved</th><th>Time to resolve p50</th><th>p90</th><th>Open</th></tr></thead><tbody>
${k.incidents.map((i) => html`<tr><td>${i.severity.toUpperCase()}</td><td>${i.opened}</td><td>${i.acknowledged}</td><td>${formatDuration(i.timeToAcknowledge.p50)}</td><td>${formatDuration(i.timeToAcknowledge.p90)}</td><td>${i.breaches}</td><td>${i.escalated}</td><td>${i.resolved}</td><td>${formatDuration(i.timeToResolve.p50)}</td><td>${formatDuration(i.timeToResolve.p90)}</td><td>${i.open}</td></tr>`)}</tbody></table></div>`}`;
  return page('Dashboard', body);
}

export function runsPage(rows: RunRow[], filters: { process?: string; status?: string; q?: string; health?: string }, nextHref: string | null, processes: Array<{ key: string; title: string }>): string {
  const statuses = ['running', 'completed', 'rejected', 'expired', 'cancelled', 'failed'];
  const body = html`<h1>Runs</h1>
<form class="filters" method="get" action="/ops/runs">
<label>Search<input type="search" name="q" value="${filters.q ?? ''}" placeholder="title or requester"></label>
<label>Process<select name="process"><option value="">All</option>${processes.map((p) => html`<option value="${p.key}"${p.key === filters.process ? html` selected` : false}>${p.title}</option>`)}</select></label>
<label>Status<select name="status"><option value="">All</option>${statuses.map((s) => html`<option${s === filters.status ? html` selected` : false}>${s}</option>`)}</select></label>
<label>Health<select name="health"><option value="">All</option><option value="stuck"${filters.health === 'stuck' ? html` selected` : false}>stuck</option></select></label>
<button class="btn" type="submit">Filter</button></form>
${rows.length === 0 ? html`<p>No runs match.</p>` : html`<div class="table-scroll"><table class="data"><thead><tr><th>Title</th><th>Process</th><th>Status</th><th>Step</th><th>Requester</th><th>Amount</th><th>Started</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td><a href="/ops/runs/${r.runId}">${r.title}</a></td><td>${r.process}</td><td>${badge(r.status)}${r.stuck && html` ${badge('stuck')}`}</td><td>${r.currentStep ?? ''}</td><td>${r.requester.name}</td><td>${money(r.amount, r.currency)}</td><td>${when(r.startedAt)}</td></tr>`)}</tbody></table></div>`}
${nextHref && html`<p><a href="${nextHref}">Older runs →</a></p>`}`;
  return page('Runs', body);
}

export function runPage(run: RunDetail, details: Array<{ label: string; value: string }>, canCancel: boolean, options: { cancelError?: string; health?: RunHealth } = {}): string {
  const body = html`<p class="eyebrow">${run.processTitle}</p><h1>${run.title}</h1>
<p>${badge(run.status)} ${run.currentStep && html`waiting on <strong>${run.currentStep}</strong>`} · requested by ${run.requester.name}${run.startedBy && run.startedBy !== run.requester.email && html` (started by ${run.startedBy})`} · started ${when(run.startedAt)}${run.closedAt && html` · closed ${when(run.closedAt)}`}</p>
<p class="small muted">Policy version <strong id="policy-version">${run.policy.version ?? 'unknown'}</strong>${run.policy.overridden && html` with per-run settings`} · facts version <code>${run.version.slice(0, 12)}</code></p>
${run.failureReason && html`<div class="error-summary"><p>${run.status === 'failed' ? 'Failed' : 'Reason'}: ${run.failureReason}</p></div>`}
${options.health?.status === 'stuck' && html`<div class="error-summary" role="alert" id="run-stuck"><p><strong>Stuck</strong>: its workflow task has failed ${options.health.attempts} times${options.health.since ? html` since ${when(options.health.since)}` : false}, so decisions and events sent to it are not applied. Temporal says: ${options.health.reason}</p><p>Usually a code change that runs in flight cannot replay (see README, "Changing a process"): fix or roll back the worker and the run carries on.</p></div>`}
<dl class="details">${details.map((d) => html`<div><dt>${d.label}</dt><dd>${d.value}</dd></div>`)}</dl>
<h2>Approvals</h2>
${run.approvals.length === 0 ? html`<p>None yet.</p>` : html`<div class="table-scroll"><table class="data" id="approvals"><thead><tr><th>Step</th><th>Approver</th><th>State</th><th>Comment</th><th>Requested</th><th>Decided</th><th>Via</th></tr></thead><tbody>
${run.approvals.map((a) => html`<tr><td>${a.stepTitle}</td><td>${a.approver.name}</td><td>${badge(a.state)}</td><td>${a.comment ?? a.revokedReason ?? ''}</td><td>${when(a.requestedAt)}</td><td>${when(a.decidedAt)}</td><td class="via">${a.channel ? CHANNEL_LABELS[a.channel] : '—'}</td></tr>`)}</tbody></table></div>`}
<h2>Timeline</h2>
<ol class="history">${run.timeline.map((e) => html`<li><strong>${e.action}</strong> ${e.step && html`(${e.step})`} by ${e.actor}${e.onBehalfOf && html` on behalf of ${e.onBehalfOf}`}<div class="small muted">${when(e.at)}</div></li>`)}</ol>
${canCancel && run.status === 'running' && html`<form method="post" action="/ops/runs/${run.runId}/cancel">
<label for="cancel-reason">Reason for cancelling (the requester and the audit trail see it)</label>
${options.cancelError && html`<p class="field-error" id="cancel-reason-error">${options.cancelError}</p>`}
<textarea id="cancel-reason" name="reason" rows="2" maxlength="1000" required${options.cancelError ? html` aria-invalid="true" aria-describedby="cancel-reason-error"` : false}></textarea>
<div class="actions"><button class="btn btn-reject" type="submit">Cancel this run</button></div></form>`}`;
  return page(run.title, body);
}

export function startPage(process: { key: string; title: string; description: string }, fields: FormField[], error?: string): string {
  const body = html`<h1>Start: ${process.title}</h1><p>${process.description}</p>
${error && html`<div class="error-summary" role="alert"><p>${error}</p></div>`}
<form method="post" action="/ops/start/${process.key}">${fields.map(formField)}
<div class="actions"><button class="btn btn-approve" type="submit">Start</button></div></form>`;
  return page(`Start ${process.title}`, body, error ? 422 : undefined);
}
