import { detailsList, time } from './approval.js';
import { html, layout, type SafeHtml } from './html.js';

/**
 * An incident's page, reached by the link a person was paged with: what happened, who was paged, and what the
 * viewer may do now: acknowledge it (while nobody has), or, as its owner, post a status for the next update and
 * resolve it (errors beside their fields, what was typed kept). Opening it changes nothing.
 */
export interface IncidentPageProps {
  formAction: string;
  processTitle: string;
  runTitle: string;
  viewer: { name: string; email: string; as: string };
  details: Array<{ label: string; value: string }>;
  acknowledgeBy: Date;
  acknowledged: { by: string; email: string; at: Date } | null;
  resolved: { at: Date; summary: string } | null;
  closedReason?: string;
  paged: Array<{ name: string; as: string; pagedAt: Date }>;
  statuses: Array<{ text: string; at: Date }>;
  can: { acknowledge: boolean; post: boolean; resolve: boolean };
  values: { text?: string; summary?: string };
  errors: { text?: string; summary?: string };
  notice?: string;
  error?: string;
}

function statusLine(p: IncidentPageProps): SafeHtml {
  if (p.resolved) return html`<p class="deadline"><strong>Resolved</strong> ${time(p.resolved.at)}.</p>`;
  if (p.closedReason) return html`<p class="deadline"><strong>Closed:</strong> ${p.closedReason}.</p>`;
  if (p.acknowledged) {
    const mine = p.acknowledged.email.toLowerCase() === p.viewer.email.toLowerCase();
    return html`<p class="deadline">Acknowledged by <strong>${mine ? 'you' : p.acknowledged.by}</strong> ${time(p.acknowledged.at)}${mine ? ': you own it.' : '.'}</p>`;
  }
  const late = p.acknowledgeBy.getTime() < Date.now();
  return html`<p class="deadline">You are paged as ${p.viewer.as}. To be acknowledged by <strong>${time(p.acknowledgeBy)}</strong>${late ? html` <span class="badge badge-rejected">Late</span>` : false}: whoever acknowledges first owns it.</p>`;
}

function textArea(name: 'text' | 'summary', label: string, hint: string, p: IncidentPageProps): SafeHtml {
  const error = p.errors[name];
  const id = `field-${name}`;
  return html`<label for="${id}">${label}</label>
<p class="hint">${hint}</p>
${error && html`<p class="field-error" id="${id}-error">${error}</p>`}
<textarea id="${id}" name="${name}" rows="4" maxlength="4000"${error ? html` aria-invalid="true" aria-describedby="${`${id}-error`}"` : false}>${p.values[name] ?? ''}</textarea>`;
}

const button = (action: string, label: string, tone: string) => html`<button class="${`btn ${tone}`}" type="submit" name="action" value="${action}">${label}</button>`;

function forms(p: IncidentPageProps): SafeHtml {
  return html`${p.can.acknowledge && html`<form class="decision" method="post" action="${p.formAction}"><div class="actions">${button('acknowledge', 'Acknowledge', 'btn-approve')}</div></form>`}
${p.can.post && html`<form class="decision" method="post" action="${p.formAction}">
<h2>Post a status update</h2>
${textArea('text', 'Status', 'The stakeholders read it in the next scheduled update.', p)}
<div class="actions">${button('status', 'Post status', 'btn-plain')}</div>
</form>`}
${p.can.resolve && html`<form class="decision" method="post" action="${p.formAction}">
<h2>Resolve</h2>
${textArea('summary', 'How it was resolved', 'The stakeholders and the reporter get it; a post-incident review follows.', p)}
<div class="actions">${button('resolve', 'Resolve the incident', 'btn-approve')}</div>
</form>`}`;
}

export function incidentPage(p: IncidentPageProps): string {
  const body = html`${p.error && html`<div class="alert" role="alert"><p><strong>${p.error}</strong></p></div>`}
${p.notice && html`<div class="deadline" role="status"><p><strong>${p.notice}</strong></p></div>`}
<p class="eyebrow">${p.processTitle}</p>
<h1>${p.runTitle}</h1>
<p>Hello ${p.viewer.name}.</p>
${statusLine(p)}
${forms(p)}
${p.resolved && html`<h2>Resolution</h2><p class="pre">${p.resolved.summary}</p>`}
<h2>What happened</h2>
${detailsList(p.details)}
<h2>Paged</h2>
<ol class="history">${p.paged.map((x) => html`<li><strong>${x.name}</strong> (${x.as}), ${time(x.pagedAt)}</li>`)}</ol>
${p.statuses.length > 0 && html`<h2>Status posted</h2><ol class="history">${p.statuses.map((s) => html`<li><span class="pre">${s.text}</span><div class="small muted">${time(s.at)}</div></li>`)}</ol>`}
<footer class="page-footer"><p>Opening this page changes nothing. Please do not forward this link: it acts in your name.</p></footer>`;
  const tone = p.error ? 'error' : p.resolved ? 'success' : p.notice ? 'info' : 'neutral';
  return layout({ title: `${p.runTitle}`, body, status: tone });
}
