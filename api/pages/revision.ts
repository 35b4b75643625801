import { html, layout } from './html.js';

/** One editable input field, derived from the process's JSON Schema. */
export interface FormField {
  name: string;
  label: string;
  type: 'text' | 'textarea' | 'number' | 'select' | 'checkbox';
  options?: string[];
  value: string;
  error?: string;
  hint?: string;
  /** An optional select gets an empty first choice, so nothing is picked by accident. */
  optional?: boolean;
}

export interface RevisionPageProps {
  token: string;
  processTitle: string;
  runTitle: string;
  stepTitle: string;
  askedBy: string;
  comment: string;
  expiresAt: string;
  fields: FormField[];
  error?: string;
}

export function formField(f: FormField) {
  const id = `field-${f.name}`;
  const invalid = f.error ? html` aria-invalid="true" aria-describedby="${id}-error"` : false;
  if (f.type === 'checkbox') {
    return html`<div class="field"><label><input type="checkbox" id="${id}" name="${f.name}"${f.value === 'true' ? html` checked` : false}> ${f.label}</label>
${f.error && html`<p class="field-error" id="${id}-error">${f.error}</p>`}</div>`;
  }
  const control =
    f.type === 'textarea'
      ? html`<textarea id="${id}" name="${f.name}" rows="6"${invalid}>${f.value}</textarea>`
      : f.type === 'select'
        ? html`<select id="${id}" name="${f.name}"${invalid}>${f.optional ? html`<option value="">—</option>` : false}${(f.options ?? []).map(
            (o) => html`<option value="${o}"${o === f.value ? html` selected` : false}>${o}</option>`,
          )}</select>`
        : html`<input id="${id}" name="${f.name}" type="text"${f.type === 'number' ? html` inputmode="decimal"` : false} value="${f.value}"${invalid}>`;
  return html`<div class="field">
<label for="${id}">${f.label}</label>
${f.hint && html`<p class="hint">${f.hint}</p>`}
${f.error && html`<p class="field-error" id="${id}-error">${f.error}</p>`}
${control}
</div>`;
}

/** The requester's page after an approver asked for changes: the comment, the editable fields, resubmit. */
export function revisionPage(p: RevisionPageProps): string {
  const body = html`<p class="eyebrow">${p.processTitle}</p>
<h1>Changes requested: ${p.runTitle}</h1>
<p><strong>${p.askedBy}</strong> (${p.stepTitle}) asks you to change your request before deciding:</p>
<blockquote>${p.comment}</blockquote>
<p class="callout">Please resubmit by ${p.expiresAt}. Opening this page changes nothing.</p>
${p.error && html`<div class="error-summary" role="alert"><p>${p.error}</p></div>`}
<form method="post" action="/approvals/${encodeURIComponent(p.token)}">
${p.fields.map(formField)}
<label for="field-note">Note to the approver (optional)</label>
<textarea id="field-note" name="_note" rows="3" maxlength="2000"></textarea>
<div class="actions"><button class="btn btn-approve" type="submit">Resubmit</button></div>
</form>`;
  return layout({ title: `Changes requested: ${p.runTitle}`, body, status: p.error ? 'error' : 'warning' });
}
