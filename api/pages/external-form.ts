import { html, layout } from './html.js';
import { formField, type FormField } from './revision.js';

export interface ExternalFormPageProps {
  token: string;
  title: string;
  intro: string;
  recipientName: string;
  expiresAt: string;
  fields: FormField[];
  /** Problems not tied to one field (e.g. "a certificate is required"). */
  generalErrors: string[];
  hasErrors: boolean;
}

/** A form an outside party (a supplier) fills in through the link we e-mailed them; no account needed. */
export function externalFormPage(p: ExternalFormPageProps): string {
  const body = html`<h1>${p.title}</h1>
<p>Hello ${p.recipientName}. ${p.intro}</p>
<p class="callout">Please send this by ${p.expiresAt}. Opening this page changes nothing; nothing is sent until you press the button.</p>
${p.hasErrors && html`<div class="error-summary" role="alert"><p>Some fields need your attention.</p>${p.generalErrors.length ? html`<ul>${p.generalErrors.map((e) => html`<li>${e}</li>`)}</ul>` : false}</div>`}
<form method="post" action="/approvals/${encodeURIComponent(p.token)}">
${p.fields.map(formField)}
<div class="actions"><button class="btn btn-approve" type="submit">Send</button></div>
</form>`;
  return layout({ title: p.title, body, status: p.hasErrors ? 'error' : undefined });
}
