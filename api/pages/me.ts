import { shortVersion, type FactChange } from '../../processes/facts.js';
import { changesBox, detailsList, time } from './approval.js';
import { html, layout, type PageTone, type SafeHtml } from './html.js';

/**
 * "My approvals" (/me): a person's own requests across all runs, without an account. Server-rendered, no
 * JavaScript; every POST form carries the session's CSRF token (added by sendConsolePage).
 */
const nav = html`<nav><a href="/me/approvals">My approvals</a><form method="post" action="/me/sign-out"><button>Sign out</button></form></nav>`;
const mePage = (title: string, body: SafeHtml, status?: number | PageTone, signedIn = true) => layout({ title, body, status, nav: signedIn ? nav : undefined });

export function signInPage(p: { error?: string; email?: string } = {}): string {
  return mePage(
    'My approvals: sign in',
    html`<h1>My approvals</h1>
<p>See every request waiting for your decision and every task for you or your group, across all processes, and approve several at once.</p>
${p.error && html`<div class="alert" role="alert"><p><strong>${p.error}</strong></p></div>`}
<form method="post" action="/me">
<label for="email">Your work e-mail address</label>
<p class="hint" id="email-hint">We send you a sign-in link. It works once, for 15 minutes.</p>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="320" value="${p.email ?? ''}" aria-describedby="email-hint">
<div class="actions"><button class="btn btn-approve" type="submit">Send me a sign-in link</button></div>
</form>`,
    p.error ? 422 : undefined,
    false,
  );
}

export function linkSentPage(): string {
  return mePage(
    'Check your mail',
    html`<h1>Check your mail</h1>
<p>If that address is in the company directory, a sign-in link is on its way. It works once, within 15 minutes.</p>
<p><a href="/me">Ask for another link</a></p>`,
    undefined,
    false,
  );
}

export function confirmSignInPage(token: string, email: string): string {
  return mePage(
    'Sign in',
    html`<h1>Sign in as ${email}</h1>
<p>Opening this page signs nobody in. Press the button to open My approvals.</p>
<form method="post" action="${`/me/sign-in/${encodeURIComponent(token)}`}"><div class="actions"><button class="btn btn-approve" type="submit">Sign in</button></div></form>`,
    undefined,
    false,
  );
}

const LINK_REFUSAL = {
  unknown: 'This sign-in link is not valid.',
  used: 'This sign-in link was already used. Each link works once: ask for a new one.',
  expired: 'This sign-in link has expired (links work for 15 minutes): ask for a new one.',
} as const;

export function signInRefusedPage(reason: keyof typeof LINK_REFUSAL): string {
  return mePage('Sign-in link not valid', html`<h1>${LINK_REFUSAL[reason]}</h1><p><a href="/me">Ask for a new sign-in link</a></p>`, reason === 'unknown' ? 404 : 410, false);
}

export interface InboxItem {
  requestId: string;
  processTitle: string;
  runTitle: string;
  stepTitle: string;
  requester: { name: string; email: string };
  onBehalfOf: string | null;
  openedAt: Date;
  expiresAt: Date;
  details: Array<{ label: string; value: string }>;
  version: string;
}

export interface DecidedItem {
  runTitle: string;
  stepTitle: string;
  decision: string;
  comment: string | null;
  decidedAt: Date;
  channel?: string;
}

export interface AbsenceView {
  id: string;
  delegateEmail: string;
  startsAt: Date;
  endsAt: Date;
  reason: string | null;
}

/** A human task the person holds, or one offered to their group that nobody holds yet. */
export interface InboxTask {
  taskId: string;
  title: string;
  runTitle: string;
  processTitle: string;
  group: string | null;
  heldByMe: boolean;
  dueAt: Date;
  overdue: boolean;
}

export interface InboxPageProps {
  name: string;
  email: string;
  open: InboxItem[];
  tasks: InboxTask[];
  decided: DecidedItem[];
  absences: AbsenceView[];
  error?: { message: string; fieldErrors?: Record<string, string> };
  values?: Record<string, string>;
}

const DECISION_LABEL: Record<string, string> = { approved: 'Approved', rejected: 'Rejected', changes_requested: 'Changes requested' };

function openItem(item: InboxItem): SafeHtml {
  const id = `req-${item.requestId.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  return html`<li class="inbox-item">
<div class="inbox-select"><input type="checkbox" id="${id}" name="item" value="${`${item.requestId}|${item.version}`}"><label for="${id}"><strong>${item.runTitle}</strong></label></div>
<p class="small muted">${item.processTitle} · ${item.stepTitle} · from ${item.requester.name} (${item.requester.email})${item.onBehalfOf ? html` · for ${item.onBehalfOf}` : false} · waiting since ${time(item.openedAt)} · decide by ${time(item.expiresAt)}</p>
${detailsList(item.details)}
<p class="small muted">Version <code>${shortVersion(item.version)}</code></p>
</li>`;
}

function taskList(tasks: InboxTask[]): SafeHtml {
  if (tasks.length === 0) return html`<p class="muted">No task waits for you.</p>`;
  return html`<ol class="inbox">${tasks.map(
    (t) => html`<li class="inbox-item"><a href="${`/me/tasks/${encodeURIComponent(t.taskId)}`}"><strong>${t.title}</strong></a>
<p class="small muted">${t.processTitle} · ${t.runTitle} · ${t.heldByMe ? 'you hold it' : `open for ${t.group ?? 'your group'}: claim it`} · due ${time(t.dueAt)}${t.overdue ? html` <span class="badge badge-rejected">Overdue</span>` : false}</p></li>`,
  )}</ol>`;
}

function decidedList(items: DecidedItem[]): SafeHtml {
  if (items.length === 0) return html`<p class="muted">Nothing decided in the last 30 days.</p>`;
  return html`<ol class="history">${items.map(
    (d) => html`<li><span class="${`badge badge-${d.decision}`}">${DECISION_LABEL[d.decision] ?? d.decision}</span> <strong>${d.runTitle}</strong>
<div class="small muted">${d.stepTitle}, ${time(d.decidedAt)}${d.channel ? html` · by ${d.channel}` : false}</div>${d.comment && html`<blockquote>${d.comment}</blockquote>`}</li>`,
  )}</ol>`;
}

function absenceSection(p: InboxPageProps): SafeHtml {
  const errors = p.error?.fieldErrors ?? {};
  const field = (name: string, label: string, type: string, hint?: string) => html`<label for="${`ooo-${name}`}">${label}</label>
${hint && html`<p class="hint">${hint}</p>`}${errors[name] && html`<p class="field-error">${errors[name]}</p>`}
<input id="${`ooo-${name}`}" name="${name}" type="${type}" value="${p.values?.[name] ?? ''}"${errors[name] ? html` aria-invalid="true"` : false}>`;
  return html`<h2 id="out-of-office">Out of office</h2>
${p.absences.length === 0 ? html`<p class="muted">No absence set: requests come to you.</p>` : html`<ul>${p.absences.map(
    (a) => html`<li>${a.delegateEmail} decides for you from ${time(a.startsAt)} to ${time(a.endsAt)}${a.reason ? ` (${a.reason})` : ''}
<form method="post" action="${`/me/out-of-office/${encodeURIComponent(a.id)}/end`}"><button class="btn btn-plain" type="submit">End this absence</button></form></li>`,
  )}</ul>`}
<form method="post" action="/me/out-of-office">
${field('delegateEmail', 'Who decides for you', 'email', 'A colleague in the directory.')}
${field('startsAt', 'From (UTC)', 'datetime-local')}
${field('endsAt', 'Until (UTC)', 'datetime-local')}
${field('reason', 'Reason (optional)', 'text')}
<div class="actions"><button class="btn btn-plain" type="submit">Set out of office</button></div>
</form>`;
}

export function inboxPage(p: InboxPageProps): string {
  const body = html`<p class="eyebrow">Signed in as ${p.email}</p>
<h1>My approvals</h1>
${p.error && !p.error.fieldErrors && html`<div class="alert" role="alert"><p><strong>${p.error.message}</strong></p></div>`}
<h2>Waiting for you (${p.open.length})</h2>
${p.open.length === 0
  ? html`<p class="muted">Nothing waits for your decision.</p>`
  : html`<form method="post" action="/me/approvals/decide">
<p class="hint">Oldest first. Each request is decided on the version shown; one that changed since is not decided, and the result says what changed. To reject or ask for changes, open the request from its e-mail.</p>
<ol class="inbox">${p.open.map(openItem)}</ol>
<div class="actions"><button class="btn btn-approve" type="submit" name="decision" value="approve">Approve selected</button></div>
</form>`}
<h2 id="tasks">Your tasks (${p.tasks.length})</h2>
<p class="hint">Work for you, or for your group, soonest due first. Open one to claim it, complete it or hand it back.</p>
${taskList(p.tasks)}
<h2>Decided in the last 30 days</h2>
${decidedList(p.decided)}
${absenceSection(p)}`;
  return mePage('My approvals', body, p.error ? 422 : undefined);
}

export type BulkOutcome =
  | { kind: 'decided'; runTitle: string; stepTitle: string }
  | { kind: 'stale'; runTitle: string; stepTitle: string; changes: FactChange[] }
  | { kind: 'refused'; runTitle: string; stepTitle: string; reason: string };

export function bulkResultPage(outcomes: BulkOutcome[]): string {
  const decided = outcomes.filter((o) => o.kind === 'decided').length;
  const body = html`<h1>${decided} of ${outcomes.length} approved</h1>
<ol class="history">${outcomes.map((o) =>
    o.kind === 'decided'
      ? html`<li><span class="badge badge-approved">Approved</span> <strong>${o.runTitle}</strong><div class="small muted">${o.stepTitle}</div></li>`
      : o.kind === 'stale'
        ? html`<li><span class="badge badge-rejected">Not decided</span> <strong>${o.runTitle}</strong><div class="small muted">${o.stepTitle}</div>${changesBox({ kind: 'stale', items: o.changes, unknownVersion: o.changes.length === 0 })}</li>`
        : html`<li><span class="badge badge-rejected">Not decided</span> <strong>${o.runTitle}</strong><div class="small muted">${o.stepTitle}</div><p>${o.reason}</p></li>`,
  )}</ol>
<p><a href="/me/approvals">Back to My approvals</a></p>`;
  return mePage('My approvals: result', body, decided === outcomes.length ? 'success' : 'warning');
}
