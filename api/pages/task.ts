import { detailsList, time } from './approval.js';
import { html, layout, type SafeHtml } from './html.js';
import { formField, type FormField } from './revision.js';

/**
 * A human task's page: what to do, for which run, by when, who holds it, and the buttons the viewer may use: claim,
 * complete (the form drawn from the task's zod schema, errors beside their fields, values kept), unclaim, hand back.
 * The same page serves the mailed link (forms post to the link) and My approvals (forms post to /me/tasks/…, each
 * with the session's CSRF token). Opening it changes nothing.
 */
export interface TaskPageProps {
  /** Where every form on the page posts (an `action` field says which). */
  formAction: string;
  processTitle: string;
  runTitle: string;
  title: string;
  instructions: string;
  details: Array<{ label: string; value: string }>;
  group: string | null;
  dueAt: Date;
  overdue: boolean;
  status: string;
  holder: { name: string; email: string } | null;
  viewer: { name: string; email: string };
  can: { claim: boolean; complete: boolean; unclaim: boolean; handBack: boolean };
  fields: FormField[];
  generalErrors: string[];
  completed?: { by: string; at: Date; answers: Array<{ label: string; value: string }> };
  closedReason?: string | null;
  /** What the last action did (a success) or why it did not happen. */
  notice?: string;
  error?: string;
  reason?: { value: string; error?: string };
  /** A link to the person's task list (My approvals), when they came from it. */
  back?: string;
}

function statusLine(p: TaskPageProps): SafeHtml {
  if (p.completed) return html`<p class="deadline"><strong>Completed</strong> by ${p.completed.by}, ${time(p.completed.at)}.</p>`;
  if (p.closedReason) return html`<p class="deadline"><strong>Closed:</strong> ${p.closedReason}.</p>`;
  const due = html`Due <strong>${time(p.dueAt)}</strong>${p.overdue ? html` <span class="badge badge-rejected">Overdue</span>` : false}.`;
  if (!p.holder) return html`<p class="deadline">${due} Open for the ${p.group ?? ''} group: whoever takes it claims it.</p>`;
  if (p.holder.email.toLowerCase() === p.viewer.email.toLowerCase()) return html`<p class="deadline">${due} <strong>You hold this task.</strong></p>`;
  return html`<p class="deadline">${due} Held by <strong>${p.holder.name}</strong> (${p.holder.email}).</p>`;
}

const actionButton = (action: string, label: string, tone: string) => html`<button class="${`btn ${tone}`}" type="submit" name="action" value="${action}">${label}</button>`;

function completionForm(p: TaskPageProps): SafeHtml | false {
  if (!p.can.complete) return false;
  return html`<form class="decision" method="post" action="${p.formAction}">
<h2>Complete the task</h2>
${p.generalErrors.length > 0 && html`<div class="error-summary" role="alert"><ul>${p.generalErrors.map((e) => html`<li>${e}</li>`)}</ul></div>`}
${p.fields.map(formField)}
${!p.holder && html`<p class="hint">Completing it claims it for you.</p>`}
<div class="actions">${actionButton('complete', 'Complete task', 'btn-approve')}</div>
</form>`;
}

function holderForms(p: TaskPageProps): SafeHtml | false {
  if (!p.can.handBack && !p.can.claim) return false;
  const reasonError = p.reason?.error;
  return html`${p.can.claim && html`<form method="post" action="${p.formAction}"><div class="actions">${actionButton('claim', 'Claim this task', 'btn-plain')}</div></form>`}
${p.can.unclaim && html`<form method="post" action="${p.formAction}"><p class="hint">Unclaim it to leave it to the rest of the group.</p><div class="actions">${actionButton('unclaim', 'Unclaim', 'btn-plain')}</div></form>`}
${p.can.handBack && html`<form method="post" action="${p.formAction}">
<h2>Cannot do it?</h2>
<label for="reason">Why you hand it back</label>
<p class="hint">It goes back to ${p.group ? `the ${p.group} group` : 'the next person in line'}, who reads this.</p>
${reasonError && html`<p class="field-error" id="reason-error">${reasonError}</p>`}
<textarea id="reason" name="reason" rows="3" maxlength="2000"${reasonError ? html` aria-invalid="true" aria-describedby="reason-error"` : false}>${p.reason?.value ?? ''}</textarea>
<div class="actions">${actionButton('hand_back', 'Hand back', 'btn-changes')}</div>
</form>`}`;
}

export function taskPage(p: TaskPageProps): string {
  const body = html`${p.error && html`<div class="alert" role="alert"><p><strong>${p.error}</strong></p></div>`}
${p.notice && html`<div class="deadline" role="status"><p><strong>${p.notice}</strong></p></div>`}
<p class="eyebrow">${p.processTitle} · task</p>
<h1>${p.title}</h1>
<p>For <strong>${p.runTitle}</strong>. Hello ${p.viewer.name}.</p>
${statusLine(p)}
<h2>What to do</h2>
<p class="pre">${p.instructions}</p>
${p.completed && html`<h2>Answers</h2>${detailsList(p.completed.answers)}`}
${completionForm(p)}
${holderForms(p)}
<h2>About the run</h2>
${detailsList(p.details)}
${p.back && html`<p><a href="${p.back}">Back to My approvals</a></p>`}
<footer class="page-footer"><p>Opening this page changes nothing. Please do not forward a task link: it acts in your name.</p></footer>`;
  const tone = p.error ? 'error' : p.completed ? 'success' : p.notice ? 'info' : 'neutral';
  return layout({ title: `${p.title}: ${p.runTitle}`, body, status: tone });
}
