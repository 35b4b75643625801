import type { FactChange } from '../processes/facts.js';
import { normaliseForDisplay } from '../lib/display-text.js';

/**
 * E-mails as pure functions of their props: subject, HTML and text from one source. Every interpolated value is
 * escaped in the HTML part.
 */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** The subject and text part get the same normalisation as the escaped HTML part. */
function normalised(email: RenderedEmail): RenderedEmail {
  return { subject: normaliseForDisplay(email.subject), text: normaliseForDisplay(email.text), html: email.html };
}

interface Detail {
  label: string;
  value: string;
}

/** HTML-escapes text after lib/display-text.ts made bidi controls visible and dropped invisible characters. */
function escape(value: string): string {
  return normaliseForDisplay(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function detailsText(details: Detail[]): string {
  return details.map((d) => `${d.label}: ${d.value}`).join('\n');
}

function detailsHtml(details: Detail[]): string {
  const rows = details
    .map(
      (d) =>
        `<tr><th align="left" style="padding:4px 12px 4px 0;color:#555;vertical-align:top">${escape(d.label)}</th>` +
        `<td style="padding:4px 0;white-space:pre-wrap">${escape(d.value)}</td></tr>`,
    )
    .join('');
  return `<table style="border-collapse:collapse;margin:12px 0">${rows}</table>`;
}

function wrapHtml(body: string): string {
  return (
    `<!doctype html><html><body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;` +
    `color:#1a1a1a;line-height:1.5;max-width:600px;margin:0 auto;padding:16px">${body}` +
    `<p style="color:#777;font-size:12px;margin-top:24px">Sent by Opsflow.</p></body></html>`
  );
}

function button(url: string, label: string): string {
  return (
    `<p><a href="${escape(url)}" style="display:inline-block;background:#1f5fbf;color:#fff;padding:12px 20px;` +
    `border-radius:6px;text-decoration:none;font-weight:600">${escape(label)}</a></p>`
  );
}

export interface ApprovalRequestEmailProps {
  kind: 'request' | 'reminder' | 'escalation';
  approverName: string;
  processTitle: string;
  runTitle: string;
  stepTitle: string;
  requesterName: string;
  details: Detail[];
  link: string;
  expiresAt: Date;
  escalatedFrom?: string;
  /** Set when the approver holds the request as delegate of someone who is out of office. */
  onBehalfOf?: string;
  /** Asked again after an edit: what changed since the step's earlier approval, old value → new value. */
  changedSinceApproval?: FactChange[];
  /** Set when replies decide (INBOUND_EMAIL_DOMAIN): the mail says how to answer it. */
  replyToDecide?: boolean;
}

/** The line that tells an approver a reply decides, and how (activities' inbound reply parser reads these words). */
export const REPLY_INSTRUCTIONS = 'Or reply to this mail with "approve", "reject <reason>" or "changes <comment>" as its first line.';

function changesText(changes: FactChange[]): string {
  return changes.map((c) => `${c.label}: ${c.before ?? '(not shown)'} → ${c.after ?? '(removed)'}`).join('\n');
}

function changesHtml(changes: FactChange[]): string {
  const rows = changes
    .map(
      (c) =>
        `<tr><th align="left" style="padding:4px 12px 4px 0;color:#555;vertical-align:top">${escape(c.label)}</th>` +
        `<td style="padding:4px 0;white-space:pre-wrap"><del>${escape(c.before ?? '(not shown)')}</del> → <strong>${escape(c.after ?? '(removed)')}</strong></td></tr>`,
    )
    .join('');
  return `<table style="border-collapse:collapse;margin:12px 0;background:#fff8e1">${rows}</table>`;
}

export function approvalRequestEmail(p: ApprovalRequestEmailProps): RenderedEmail {
  const changed = p.changedSinceApproval?.length ? p.changedSinceApproval : undefined;
  const prefix = changed
    ? 'Approval needed again'
    : { request: 'Approval needed', reminder: 'Reminder: approval needed', escalation: 'Escalated: approval needed' }[p.kind];
  const subject = `${prefix}: ${p.runTitle} (${p.processTitle})`;
  const intro =
    p.kind === 'escalation'
      ? `${p.escalatedFrom ?? 'The original approver'} did not act in time, so this request is now yours.`
      : p.kind === 'reminder'
        ? 'This request is still waiting for your decision.'
        : `${p.requesterName} asks for your approval.`;
  const delegation = p.onBehalfOf ? ` You receive it on behalf of ${p.onBehalfOf}, who is out of office.` : '';
  const deadline = `Please decide before ${p.expiresAt.toISOString().replace('T', ' ').slice(0, 16)} UTC.`;
  const text = [
    `Hello ${p.approverName},`,
    '',
    intro + delegation,
    `${p.stepTitle} for "${p.runTitle}" (${p.processTitle}).`,
    '',
    ...(changed ? ['Changed since this step was approved (old → new):', changesText(changed), ''] : []),
    detailsText(p.details),
    '',
    `Review and decide: ${p.link}`,
    ...(p.replyToDecide ? [REPLY_INSTRUCTIONS] : []),
    deadline,
    'Opening the link does not decide anything.',
  ].join('\n');
  const html = wrapHtml(
    `<p>Hello ${escape(p.approverName)},</p><p>${escape(intro + delegation)}</p>` +
      `<p><strong>${escape(p.stepTitle)}</strong> for “${escape(p.runTitle)}” (${escape(p.processTitle)}).</p>` +
      (changed ? `<p><strong>Changed since this step was approved</strong> (old → new):</p>${changesHtml(changed)}` : '') +
      detailsHtml(p.details) +
      button(p.link, 'Review and decide') +
      (p.replyToDecide ? `<p>${escape(REPLY_INSTRUCTIONS)}</p>` : '') +
      `<p>${escape(deadline)} Opening the link does not decide anything.</p>`,
  );
  return normalised({ subject, text, html });
}

export type RequesterOutcome = 'approved' | 'rejected' | 'expired' | 'cancelled' | 'failed';

export interface RequesterOutcomeEmailProps {
  outcome: RequesterOutcome;
  requesterName: string;
  processTitle: string;
  runTitle: string;
  runUrl: string;
  /** Who rejected, and why; why the run expired or failed. */
  decidedBy?: string;
  reason?: string;
  /** Extra facts such as the purchase order number. */
  facts?: Detail[];
}

const outcomeHeadline: Record<RequesterOutcome, string> = {
  approved: 'approved',
  rejected: 'rejected',
  expired: 'expired without a decision',
  cancelled: 'cancelled',
  failed: 'could not be completed',
};

export function requesterOutcomeEmail(p: RequesterOutcomeEmailProps): RenderedEmail {
  const subject = `Your request was ${outcomeHeadline[p.outcome]}: ${p.runTitle}`;
  const lines: string[] = [
    `Hello ${p.requesterName},`,
    '',
    `Your ${p.processTitle} request "${p.runTitle}" was ${outcomeHeadline[p.outcome]}.`,
  ];
  if (p.decidedBy) lines.push(`Decided by: ${p.decidedBy}`);
  if (p.reason) lines.push(`Reason: ${p.reason}`);
  const facts = p.facts ?? [];
  const text = [...lines, ...(facts.length ? ['', detailsText(facts)] : []), '', `Details: ${p.runUrl}`].join('\n');
  const html = wrapHtml(
    `<p>Hello ${escape(p.requesterName)},</p>` +
      `<p>Your ${escape(p.processTitle)} request “${escape(p.runTitle)}” was <strong>${escape(outcomeHeadline[p.outcome])}</strong>.</p>` +
      (p.decidedBy ? `<p>Decided by: ${escape(p.decidedBy)}</p>` : '') +
      (p.reason ? `<p>Reason:</p><blockquote style="white-space:pre-wrap;border-left:3px solid #ccc;margin:0;padding-left:12px">${escape(p.reason)}</blockquote>` : '') +
      (facts.length ? detailsHtml(facts) : '') +
      `<p><a href="${escape(p.runUrl)}">See the run</a></p>`,
  );
  return normalised({ subject, text, html });
}

export interface RevisionRequestEmailProps {
  requesterName: string;
  processTitle: string;
  runTitle: string;
  stepTitle: string;
  askedBy: string;
  comment: string;
  link: string;
  expiresAt: Date;
}

export function revisionRequestEmail(p: RevisionRequestEmailProps): RenderedEmail {
  const subject = `Changes requested: ${p.runTitle} (${p.processTitle})`;
  const deadline = `Please resubmit before ${p.expiresAt.toISOString().replace('T', ' ').slice(0, 16)} UTC.`;
  const text = [
    `Hello ${p.requesterName},`,
    '',
    `${p.askedBy} (${p.stepTitle}) asks you to change your request "${p.runTitle}" before deciding:`,
    '',
    p.comment,
    '',
    `Edit and resubmit: ${p.link}`,
    deadline,
  ].join('\n');
  const html = wrapHtml(
    `<p>Hello ${escape(p.requesterName)},</p>` +
      `<p>${escape(p.askedBy)} (${escape(p.stepTitle)}) asks you to change your request “${escape(p.runTitle)}” before deciding:</p>` +
      `<blockquote style="white-space:pre-wrap;border-left:3px solid #ccc;margin:0;padding-left:12px">${escape(p.comment)}</blockquote>` +
      button(p.link, 'Edit and resubmit') +
      `<p>${escape(deadline)}</p>`,
  );
  return normalised({ subject, text, html });
}

export interface NoticeEmailProps {
  subject: string;
  greeting: string;
  paragraphs: string[];
  details?: Detail[];
  /** A checklist, one line each. */
  checklist?: string[];
  link?: { url: string; label: string };
}

/** A plain notice to someone outside the approval flow: a new hire, a manager, a supplier. */
export function noticeEmail(p: NoticeEmailProps): RenderedEmail {
  const text = [
    `${p.greeting},`,
    '',
    ...p.paragraphs.flatMap((para) => [para, '']),
    ...(p.details?.length ? [detailsText(p.details), ''] : []),
    ...(p.checklist?.length ? [...p.checklist.map((item) => `[ ] ${item}`), ''] : []),
    ...(p.link ? [`${p.link.label}: ${p.link.url}`, ''] : []),
    'Sent by Opsflow.',
  ].join('\n');
  const html = wrapHtml(
    `<p>${escape(p.greeting)},</p>` +
      p.paragraphs.map((para) => `<p>${escape(para)}</p>`).join('') +
      (p.details?.length ? detailsHtml(p.details) : '') +
      (p.checklist?.length ? `<ul>${p.checklist.map((item) => `<li>${escape(item)}</li>`).join('')}</ul>` : '') +
      (p.link ? button(p.link.url, p.link.label) : ''),
  );
  return normalised({ subject: p.subject, text, html });
}

export interface SignInEmailProps {
  name: string;
  link: string;
  expiresAt: Date;
}

/** The one-time link to "My approvals", asked for on /me. */
export function signInEmail(p: SignInEmailProps): RenderedEmail {
  const until = p.expiresAt.toISOString().slice(11, 16);
  return normalised({
    subject: 'Your sign-in link to My approvals',
    text: `Hello ${p.name},\n\nOpen this link to see your open approval requests (valid until ${until} UTC, once):\n${p.link}\n\nIf you did not ask for it, ignore this mail: nothing happens without the link.`,
    html: wrapHtml(
      `<p>Hello ${escape(p.name)},</p><p>Open this link to see your open approval requests. It works once, until ${escape(until)} UTC.</p>` +
        button(p.link, 'Sign in to My approvals') +
        `<p style="color:#555">If you did not ask for it, ignore this mail: nothing happens without the link.</p>`,
    ),
  });
}

export interface DigestLine {
  runTitle: string;
  stepTitle: string;
  requesterName: string;
  waitingSince: Date;
  link: string;
}

export interface DigestEmailProps {
  name: string;
  lines: DigestLine[];
  reviewAllLink: string;
}

/** The daily list of a person's open requests, one line each, oldest first. */
export function digestEmail(p: DigestEmailProps): RenderedEmail {
  const count = p.lines.length;
  const since = (line: DigestLine) => line.waitingSince.toISOString().slice(0, 10);
  const text = p.lines.map((l) => `- ${l.runTitle} (${l.stepTitle}, from ${l.requesterName}, waiting since ${since(l)}): ${l.link}`).join('\n');
  const items = p.lines
    .map((l) => `<li style="margin:6px 0"><a href="${escape(l.link)}">${escape(l.runTitle)}</a> · ${escape(l.stepTitle)} · from ${escape(l.requesterName)} · waiting since ${escape(since(l))}</li>`)
    .join('');
  return normalised({
    subject: `${count} approval ${count === 1 ? 'request waits' : 'requests wait'} for you`,
    text: `Hello ${p.name},\n\n${count === 1 ? 'This request waits' : 'These requests wait'} for your decision:\n${text}\n\nReview them all at once: ${p.reviewAllLink}`,
    html: wrapHtml(`<p>Hello ${escape(p.name)},</p><p>${count === 1 ? 'This request waits' : 'These requests wait'} for your decision:</p><ul>${items}</ul>` + button(p.reviewAllLink, 'Review all in My approvals')),
  });
}
