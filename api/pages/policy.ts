import type { FieldIssue } from '../../lib/errors.js';
import { consolePage } from './console.js';
import { html, type SafeHtml } from './html.js';

/**
 * The ops console's policy pages: every process's policy in force, readable (nested lists, not code), its
 * versions with who changed what and why, and for `policies:write` an editor whose errors name each field path.
 */

export interface PolicyVersionView {
  version: number;
  policy: unknown;
  createdBy: string;
  createdAt: string;
  reason: string;
}

const when = (iso: string) => iso.replace('T', ' ').slice(0, 16);

/** "financeDirectorFrom" → "Finance director from"; ids such as step ids ("line-manager", "cfo") stay as they are. */
function label(key: string): string {
  if (!/[A-Z]/.test(key) && (key.includes('-') || key.length <= 3)) return key;
  const words = key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Any policy as nested definition lists: the shape differs per process, the reading does not. */
function readable(value: unknown): SafeHtml {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return html`${value.map(String).join(', ') || '(none)'}`;
    return html`<ol>${value.map((v) => html`<li>${readable(v)}</li>`)}</ol>`;
  }
  if (value && typeof value === 'object') {
    return html`<dl class="details">${Object.entries(value).map(([k, v]) => html`<div><dt>${label(k)}</dt><dd>${readable(v)}</dd></div>`)}</dl>`;
  }
  return html`${value === undefined || value === null ? '(not set)' : String(value)}`;
}

export function policyListPage(rows: Array<{ key: string; title: string; version: number; createdBy: string; createdAt: string; reason: string }>): string {
  const body = html`<h1>Policies</h1>
<p>Each process's routing, thresholds, approver roles, timing, deadline actions, separation of duties and material fields. Runs keep the version they started with.</p>
<div class="table-scroll"><table class="data"><thead><tr><th>Process</th><th>Version</th><th>Changed</th><th>By</th><th>Why</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td><a href="/ops/processes/${r.key}/policy">${r.title}</a></td><td>${r.version}</td><td>${when(r.createdAt)}</td><td>${r.createdBy}</td><td>${r.reason}</td></tr>`)}</tbody></table></div>`;
  return consolePage('Policies', body);
}

export interface PolicyPageProps {
  process: { key: string; title: string };
  /** The version shown: the current one unless an older one was asked for. */
  shown: PolicyVersionView;
  currentVersion: number;
  versions: PolicyVersionView[];
  canEdit: boolean;
  /** After a refused change: what the admin typed, and why it was refused. */
  draft?: { policy: string; reason: string };
  error?: { message: string; issues: FieldIssue[] };
  saved?: number;
  bounds: { minimumSla: string };
}

export function policyPage(p: PolicyPageProps): string {
  const isCurrent = p.shown.version === p.currentVersion;
  const status = p.error ? (p.error.issues.length ? 422 : 409) : undefined;
  const body = html`<p class="eyebrow">Policy</p>
<h1>${p.process.title}: version ${p.shown.version}${isCurrent ? ' (in force)' : ' (superseded)'}</h1>
${p.saved !== undefined && html`<p class="callout" role="status">Saved as version ${p.saved}. Runs already open keep the version they started with.</p>`}
<p>Changed ${when(p.shown.createdAt)} by <strong>${p.shown.createdBy}</strong>: ${p.shown.reason}</p>
${!isCurrent && html`<p><a href="/ops/processes/${p.process.key}/policy">Show the version in force (${p.currentVersion})</a></p>`}
<h2>The flow under the version in force</h2>
<p><img src="/processes/${p.process.key}/diagram.svg" alt="Steps of ${p.process.title} under policy version ${String(p.currentVersion)}" style="max-width:100%;height:auto"></p>
<h2>What it says</h2>
${readable(p.shown.policy)}
${p.canEdit && isCurrent && editor(p)}
<h2>Versions</h2>
<div class="table-scroll"><table class="data"><thead><tr><th>Version</th><th>Changed</th><th>By</th><th>Why</th></tr></thead><tbody>
${p.versions.map((v) => html`<tr><td><a href="/ops/processes/${p.process.key}/policy?version=${String(v.version)}">${v.version}</a></td><td>${when(v.createdAt)}</td><td>${v.createdBy}</td><td>${v.reason}</td></tr>`)}</tbody></table></div>`;
  return consolePage(`${p.process.title} policy`, body, status);
}

function editor(p: PolicyPageProps): SafeHtml {
  const text = p.draft?.policy ?? JSON.stringify(p.shown.policy, null, 2);
  return html`<h2>Change it</h2>
<p>Edit the policy as JSON and say why. Reminders and SLAs must be at least ${p.bounds.minimumSla}; escalation goes to a role or up the manager chain; approving at the deadline needs an amount limit. The change is audited and applies to runs started from now on.</p>
${p.error && html`<div class="error-summary" role="alert" id="policy-errors"><p>${p.error.message}</p>
${p.error.issues.length > 0 && html`<ul>${p.error.issues.map((i) => html`<li><code>${i.path}</code>: ${i.message}</li>`)}</ul>`}</div>`}
<form method="post" action="/ops/processes/${p.process.key}/policy">
<input type="hidden" name="basedOn" value="${String(p.currentVersion)}">
<label for="policy-json">Policy (JSON)</label>
<textarea id="policy-json" name="policy" rows="24" spellcheck="false" class="code">${text}</textarea>
<div class="field"><label for="policy-reason">Why it changes (kept with the version and in the audit trail)</label>
<input id="policy-reason" name="reason" type="text" maxlength="1000" required value="${p.draft?.reason ?? ''}"></div>
<div class="actions"><button class="btn btn-approve" type="submit">Save as version ${String(p.currentVersion + 1)}</button></div>
</form>`;
}
