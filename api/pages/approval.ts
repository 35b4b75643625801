import { shortVersion, type FactChange } from '../../processes/facts.js';
import { html, layout, type SafeHtml } from './html.js';

/**
 * The pages an approver sees after clicking a link in an e-mail: the decision page (GET) and the result of a
 * decision or of a refused link. Pure functions of their props; every value is escaped by `html`.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** "25 Nov 2026, 14:05 UTC" — always in UTC, independent of the server's locale and time zone. */
export function formatDateTime(date: Date): string {
  if (Number.isNaN(date.getTime())) return 'an unknown time';
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())} UTC`;
}

export function time(date: Date): SafeHtml {
  if (Number.isNaN(date.getTime())) return html`${formatDateTime(date)}`;
  return html`<time datetime="${date.toISOString()}">${formatDateTime(date)}</time>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Decision page
// ---------------------------------------------------------------------------------------------------------------

export interface ApprovalPageProps {
  /** Goes only into the form action URL `/approvals/<token>`; never printed elsewhere. */
  token: string;
  processTitle: string;
  runTitle: string;
  stepTitle: string;
  approverName: string;
  requester: { name: string; email: string };
  expiresAt: Date;
  /** Shown as a `<dl>`; values keep their line breaks. */
  details: Array<{ label: string; value: string }>;
  /** The version of the details shown (processes/facts.ts): the form posts it, so a decision is bound to them. */
  version: string;
  /**
   * What changed, above the details: since the approver opened an older page (`stale`: nothing was decided), or
   * since this step was approved before an edit (`since_approval`: it is asked again).
   */
  changes?: { kind: 'stale' | 'since_approval'; items: FactChange[]; unknownVersion?: boolean };
  /** Earlier decisions on this run. */
  history: Array<{
    stepTitle: string;
    approverName: string;
    decision: 'approved' | 'rejected' | 'changes_requested';
    comment: string | null;
    decidedAt: Date;
    /** The version it was decided on, and the facts that differ from what is shown now. */
    version?: string | null;
    changedSince?: string[];
    /**
     * For an approval the facts changed since: whether a change was material under the run's policy, so its step was
     * asked again and this approval no longer counts (undefined when the records cannot tell).
     */
    superseded?: boolean;
  }>;
  /** Set when re-rendering after a refused POST, e.g. `{ message, fieldErrors: { comment: 'A reason is required to reject.' } }`. */
  error?: { message: string; fieldErrors?: Record<string, string> };
  /** What the user typed, kept on re-render. */
  values?: { comment?: string };
}

const DECISION_LABEL = { approved: 'Approved', rejected: 'Rejected', changes_requested: 'Changes requested' } as const;

export function detailsList(details: ApprovalPageProps['details']): SafeHtml {
  if (details.length === 0) return html`<p class="muted">No details were provided.</p>`;
  // No whitespace inside <dd>: it is `white-space: pre-wrap` so that multi-line values keep their line breaks.
  return html`<dl class="details">
${details.map((d) => html`<div><dt>${d.label}</dt><dd>${d.value}</dd></div>\n`)}</dl>`;
}

/** What a later edit means for an earlier decision: only an approval can stand, and only if no change was material. */
function changedSinceNote(h: ApprovalPageProps['history'][number]): SafeHtml | false {
  if (!h.changedSince || h.changedSince.length === 0) return false;
  const fields = h.changedSince.join(', ');
  if (h.decision !== 'approved') return html`<div class="small">Edited since: ${fields}</div>`;
  if (h.superseded === true) return html`<div class="small">Asked again after a material change: ${fields}. This approval no longer counts.</div>`;
  if (h.superseded === false) return html`<div class="small">Changed since: ${fields} (not material under the policy, so this decision stands)</div>`;
  return html`<div class="small">Changed since: ${fields}</div>`;
}

function historyList(history: ApprovalPageProps['history']): SafeHtml {
  if (history.length === 0) return html`<p class="muted">No decisions yet.</p>`;
  return html`<ol class="history">
${history.map(
  (h) => html`<li>
<div>${h.superseded ? html`<span class="badge badge-superseded">Superseded approval</span>` : html`<span class="${`badge badge-${h.decision}`}">${DECISION_LABEL[h.decision]}</span>`} <strong>${h.stepTitle}</strong></div>
<div class="small muted">${h.approverName}, ${time(h.decidedAt)}${h.version ? html`, on version <code>${shortVersion(h.version)}</code>` : false}</div>
${changedSinceNote(h)}
${h.comment !== null && h.comment.trim() !== '' && html`<blockquote>${h.comment}</blockquote>`}
</li>
`,
)}</ol>`;
}

function errorSummary(error: ApprovalPageProps['error']): SafeHtml | false {
  if (!error) return false;
  const fieldMessages = Object.values(error.fieldErrors ?? {});
  return html`<div class="alert" role="alert" id="form-errors">
<p><strong>${error.message}</strong></p>
${fieldMessages.length > 0 && html`<ul>${fieldMessages.map((m) => html`<li>${m}</li>`)}</ul>`}
</div>`;
}

export function changesBox(changes: ApprovalPageProps['changes']): SafeHtml | false {
  if (!changes) return false;
  const heading =
    changes.kind === 'stale'
      ? 'This request changed after you opened the page. Nothing was decided: review the current version below and decide again.'
      : 'You are asked again because the request was edited after this step was approved. What changed:';
  return html`<div class="alert" role="alert" id="changes">
<p><strong>${heading}</strong></p>
${changes.unknownVersion && html`<p>The page you used does not show a version of this request.</p>`}
${changes.items.length > 0 && html`<table class="changes"><thead><tr><th scope="col">Field</th><th scope="col">Was</th><th scope="col">Now</th></tr></thead><tbody>
${changes.items.map((c) => html`<tr><th scope="row">${c.label}</th><td><del>${c.before ?? '(not shown)'}</del></td><td><ins>${c.after ?? '(removed)'}</ins></td></tr>
`)}</tbody></table>`}
</div>`;
}

export function approvalPage(p: ApprovalPageProps): string {
  const fieldErrors = p.error?.fieldErrors ?? {};
  const commentError = fieldErrors['comment'];
  const decisionError = fieldErrors['decision'];
  const comment = p.values?.comment ?? '';
  const commentDescribedBy = ['comment-hint', commentError ? 'comment-error' : ''].filter(Boolean).join(' ');
  const action = `/approvals/${encodeURIComponent(p.token)}`;

  const body = html`${errorSummary(p.error)}
<p class="eyebrow">${p.processTitle}</p>
<h1>${p.stepTitle}</h1>
<p>Hello ${p.approverName}, <strong>${p.requester.name}</strong> (${p.requester.email}) asks for your decision on <strong>${p.runTitle}</strong>.</p>
<p class="deadline">Please decide by <strong>${time(p.expiresAt)}</strong>. After that this link stops working.</p>

${changesBox(p.changes)}
<h2>Details</h2>
${detailsList(p.details)}
<p class="small muted" id="version">Version <code>${shortVersion(p.version)}</code>: your decision applies to exactly these details.</p>

<h2>Decisions so far</h2>
${historyList(p.history)}

<form class="decision" method="post" action="${action}">
<h2>Your decision</h2>
<input type="hidden" name="version" value="${p.version}">
<label for="comment">Comment (required to reject or request changes)</label>
<p class="hint" id="comment-hint">Optional when you approve. If you reject or ask for changes, say why: the requester will see it.</p>
${commentError && html`<p class="field-error" id="comment-error">${commentError}</p>`}
<textarea id="comment" name="comment" rows="5" maxlength="2000" aria-describedby="${commentDescribedBy}"${commentError ? html` aria-invalid="true"` : false}>
${comment}</textarea>
${decisionError && html`<p class="field-error" id="decision-error">${decisionError}</p>`}
<div class="actions">
<button class="btn btn-approve" type="submit" name="decision" value="approve">Approve</button>
<button class="btn btn-changes" type="submit" name="decision" value="request_changes" aria-describedby="reject-hint">Request changes</button>
<button class="btn btn-reject" type="submit" name="decision" value="reject" aria-describedby="reject-hint">Reject</button>
</div>
<p class="notice" id="reject-hint">Opening this page does not decide anything. Your decision is recorded only when you press a button. Rejecting or requesting changes needs a comment; "Request changes" sends the request back to the requester to edit, then it comes back to you.</p>
</form>

<footer class="page-footer">
<p>You received this link because you are the approver for this step. Please do not forward it: anyone with the link can decide in your name.</p>
</footer>`;

  return layout({ title: `${p.stepTitle}: ${p.runTitle}`, body, status: p.error ? 'error' : 'neutral' });
}

// ---------------------------------------------------------------------------------------------------------------
// Result pages
// ---------------------------------------------------------------------------------------------------------------

export type ResultKind =
  | 'approved'
  | 'rejected'
  | 'changes_requested'
  | 'revised'
  | 'form_sent'
  | 'form_already_sent'
  | 'pending'
  | 'already_decided'
  | 'expired'
  | 'revoked'
  | 'not_found'
  | 'closed'
  | 'not_allowed'
  | 'stuck'
  | 'unavailable';

export interface ResultPageProps {
  kind: ResultKind;
  runTitle?: string;
  stepTitle?: string;
  decision?: 'approved' | 'rejected' | 'changes_requested' | 'revised';
  decidedBy?: string;
  decidedAt?: Date;
  /** e.g. a revoked link's reason ("escalated to Dana Lee", "run cancelled") or why a run is closed. */
  reason?: string;
}

export const RESULT_STATUS: Readonly<Record<ResultKind, number>> = {
  approved: 200,
  rejected: 200,
  changes_requested: 200,
  revised: 200,
  form_sent: 200,
  form_already_sent: 409,
  pending: 202,
  already_decided: 409,
  expired: 410,
  revoked: 410,
  not_found: 404,
  closed: 409,
  not_allowed: 403,
  stuck: 503,
  unavailable: 503,
};

/** "the request “New CNC machine”" / "“Finance director approval”" / fallback. */
function subject(p: ResultPageProps, fallback: string): SafeHtml {
  if (p.runTitle) return html`“${p.runTitle}”`;
  if (p.stepTitle) return html`“${p.stepTitle}”`;
  return html`${fallback}`;
}

function context(p: ResultPageProps): SafeHtml | false {
  if (!p.runTitle && !p.stepTitle) return false;
  return html`<dl class="details">
${p.runTitle && html`<div><dt>Request</dt><dd>${p.runTitle}</dd></div>\n`}${p.stepTitle && html`<div><dt>Step</dt><dd>${p.stepTitle}</dd></div>\n`}</dl>`;
}

/** Reason text without a trailing full stop, so it can be placed inside a sentence. */
function reasonText(reason: string | undefined): string | undefined {
  const r = reason?.trim().replace(/[.\s]+$/, '');
  return r ? r : undefined;
}

function byAt(decidedBy: string | undefined, decidedAt: Date | undefined): SafeHtml {
  return html`${decidedBy && html` by ${decidedBy}`}${decidedAt && html` at ${time(decidedAt)}`}`;
}

interface ResultContent {
  title: string;
  tone: 'success' | 'info' | 'warning' | 'error';
  body: SafeHtml;
}

function resultContent(p: ResultPageProps): ResultContent {
  const reason = reasonText(p.reason);
  switch (p.kind) {
    case 'approved':
      return {
        title: 'Thank you',
        tone: 'success',
        body: html`<h1>Thank you — you approved ${subject(p, 'this request')}</h1>
${context(p)}
<p>Your approval was recorded${byAt(undefined, p.decidedAt)}.</p>
<p><strong>What happens next:</strong> the request moves on to the next step, or is completed if this was the last one. The requester is kept informed by e-mail. You can close this page.</p>`,
      };
    case 'rejected':
      return {
        title: 'Thank you',
        tone: 'success',
        body: html`<h1>Thank you — you rejected ${subject(p, 'this request')}</h1>
${context(p)}
<p>Your rejection was recorded${byAt(undefined, p.decidedAt)}.</p>
<p><strong>What happens next:</strong> the request does not go ahead as submitted. The requester is told by e-mail, with your reason. You can close this page.</p>`,
      };
    case 'changes_requested':
      return {
        title: 'Thank you',
        tone: 'info',
        body: html`<h1>Thank you — you asked for changes to ${subject(p, 'this request')}</h1>
${context(p)}
<p>Your request for changes was recorded${byAt(undefined, p.decidedAt)}.</p>
<p><strong>What happens next:</strong> the requester gets a link to edit and resubmit, with your comment. When they do, you receive a new e-mail to decide again. You can close this page.</p>`,
      };
    case 'form_sent':
      return {
        title: 'Thank you',
        tone: 'success',
        body: html`<h1>Thank you — ${p.runTitle ?? 'your details'} were sent</h1>
<p><strong>What happens next:</strong> our team reviews them and e-mails you once everything is set up. You can close this page; this link no longer works.</p>`,
      };
    case 'form_already_sent':
      return {
        title: 'Already sent',
        tone: 'info',
        body: html`<h1>This form was already sent</h1>
<p>${p.stepTitle ?? 'The form'} was sent${byAt(undefined, p.decidedAt)}. Nothing was changed; you do not need to do anything else. If something in it was wrong, reply to our e-mail.</p>`,
      };
    case 'revised':
      return {
        title: 'Thank you',
        tone: 'success',
        body: html`<h1>Thank you — ${subject(p, 'your request')} was resubmitted</h1>
${context(p)}
<p><strong>What happens next:</strong> the approver who asked for changes receives it again and decides. You are kept informed by e-mail. You can close this page.</p>`,
      };
    case 'pending':
      return {
        title: 'Decision sent',
        tone: 'warning',
        body: html`<h1>Your decision was sent but is not confirmed yet</h1>
${context(p)}
<p>The system is slower than usual. Reload this page in a minute: it shows your decision once it is recorded. If it shows the form again, submit once more; a decision is never recorded twice.</p>`,
      };
    case 'already_decided': {
      const decided = p.decision ? html`: ${p.decision}${byAt(p.decidedBy, p.decidedAt)}` : byAt(p.decidedBy, p.decidedAt);
      return {
        title: 'Already decided',
        tone: 'info',
        body: html`<h1>This request was already decided</h1>
${context(p)}
<p>This request was already decided${decided}.</p>
<p>Nothing was changed. You do not need to do anything else.</p>`,
      };
    }
    case 'expired':
      return {
        title: 'Link expired',
        tone: 'warning',
        body: html`<h1>This link has expired</h1>
${context(p)}
<p>The deadline for this decision has passed, so this link can no longer be used. Nothing was decided.</p>
<p>If a decision is still needed, please contact the person who made the request.</p>`,
      };
    case 'revoked':
      return {
        title: 'Link no longer valid',
        tone: 'warning',
        body: html`<h1>This link is no longer valid</h1>
${context(p)}
${
  reason
    ? html`<p>Reason: ${reason}.</p>`
    : html`<p>Your decision is no longer needed: the request was reassigned, escalated, withdrawn or cancelled.</p>`
}
<p>Nothing was decided with this link. You do not need to do anything else.</p>`,
      };
    case 'not_found':
      // Deliberately generic: reveal nothing about whether the token exists or what it belongs to.
      return {
        title: 'Link not valid',
        tone: 'error',
        body: html`<h1>This link is not valid</h1>
<p>This link is not valid. Check you copied the whole link from the e-mail.</p>`,
      };
    case 'closed':
      return {
        title: 'Already closed',
        tone: 'warning',
        body: html`<h1>This run is already closed</h1>
${context(p)}
<p>No decision is needed any more${reason && html` (${reason})`}. Nothing was recorded.</p>`,
      };
    case 'not_allowed':
      return {
        title: 'Not allowed',
        tone: 'error',
        body: html`<h1>You cannot decide this request</h1>
${context(p)}
<p>${reason ? html`${reason}.` : 'Separation of duties does not allow it.'}</p>
<p>Nothing was decided. The attempt was recorded in the request's audit trail.</p>`,
      };
    case 'stuck':
      return {
        title: 'Cannot be decided right now',
        tone: 'error',
        body: html`<h1>This request cannot be decided right now</h1>
${context(p)}
<p>The process behind it has hit a problem and is not taking decisions at the moment. Nothing was decided, and the operations team can see the problem.</p>
<p>Keep this e-mail: the link works again once the problem is fixed, until it expires.</p>`,
      };
    case 'unavailable':
      return {
        title: 'Please try again',
        tone: 'error',
        body: html`<h1>Please try again in a minute</h1>
<p>We could not record your decision right now. Nothing was decided. Please try again in a minute.</p>
<p class="muted small">Go back to the previous page and press your button again, or open the link from the e-mail again.</p>`,
      };
  }
}

export function approvalResultPage(p: ResultPageProps): { status: number; html: string } {
  const { title, tone, body } = resultContent(p);
  return { status: RESULT_STATUS[p.kind], html: layout({ title, body, status: tone }) };
}
