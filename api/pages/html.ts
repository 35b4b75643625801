/**
 * A tiny, dependency-free HTML templating helper for the server-rendered pages.
 *
 * `html` is a tagged template: every interpolated value is HTML-escaped unless it is a `SafeHtml` (produced by
 * `html` itself or by `raw()`). So markup composes (`html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>``) and
 * data never does. Only double-quoted attributes are used in templates, and `escapeHtml` escapes both quote kinds,
 * so values are safe in text and in attribute values alike. (It does not make a URL safe in `href`/`action` — build
 * those from fixed prefixes and `encodeURIComponent`.)
 */

import { normaliseForDisplay } from '../../lib/display-text.js';

/** Markup that is trusted as-is. Construct it through `html` or `raw()`, never from user input. */
export class SafeHtml {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  toString(): string {
    return this.#value;
  }
}

/** What may be interpolated into `html`. `null`, `undefined` and `false` render as nothing (handy for `cond && html`…``). */
export type HtmlValue = SafeHtml | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes `& < > " '` so the text is inert both in element content and in quoted attribute values, after showing
 * bidi controls visibly and dropping invisible characters (lib/display-text.ts): what an approver reads is what
 * was typed.
 */
export function escapeHtml(value: string): string {
  return normaliseForDisplay(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Marks a string as trusted markup. Only for constants written in this code base. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  return escapeHtml(String(value));
}

/** Tagged template: literal parts are kept, interpolations are escaped unless already `SafeHtml`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? '');
  }
  return new SafeHtml(out);
}

/**
 * Visual tone of a page: a coloured accent on the card. An HTTP status is accepted too and mapped
 * (2xx → success, 5xx → error, other 4xx → warning, 404 → error).
 */
export type PageTone = 'neutral' | 'success' | 'info' | 'warning' | 'error';

export interface LayoutProps {
  /** Plain text; escaped. " · Opsflow" is appended in the document title. */
  title: string;
  body: SafeHtml;
  status?: PageTone | number;
  /** Ops pages: a wider card for tables and charts. */
  wide?: boolean;
  /** Ops pages: navigation beside the header. */
  nav?: SafeHtml;
}

function toneOf(status: PageTone | number | undefined): PageTone {
  if (status === undefined) return 'neutral';
  if (typeof status === 'string') return status;
  if (status >= 200 && status < 300) return 'success';
  if (status === 404 || status >= 500) return 'error';
  if (status >= 400) return 'warning';
  return 'neutral';
}

const STYLESHEET = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f3f4f6;color:#111827;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;font-size:1rem;line-height:1.5;overflow-wrap:anywhere}
.site-header{max-width:40rem;margin:0 auto;padding:1rem 1rem .5rem;font-size:.875rem;font-weight:700;letter-spacing:.04em;color:#374151}
main{display:block}
.card.wide,.site-header.wide{max-width:72rem}
.site-header nav{display:inline-flex;gap:1rem;margin-left:1.5rem;font-weight:600}
.site-header nav form{display:inline}
.site-header nav button{background:none;border:0;color:#1d4ed8;font:inherit;cursor:pointer;padding:0}
table.data{width:100%;border-collapse:collapse;font-size:.9rem}
table.data th,table.data td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
.table-scroll{overflow-x:auto}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(8rem,1fr));gap:.75rem;margin:1rem 0}
.stat{border:1px solid #e5e7eb;border-radius:.5rem;padding:.75rem}.stat b{display:block;font-size:1.5rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(24rem,100%),1fr));gap:1.5rem}
figure.chart{margin:0}figure.chart svg{width:100%;height:auto}figure.chart figcaption{font-weight:600;margin-bottom:.25rem}
form.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin:1rem 0}
form.filters label{display:flex;flex-direction:column;font-size:.85rem}
form.filters .btn{flex:0 0 auto;min-height:2.25rem;padding:.4rem 1rem;background:#1d4ed8;border-color:#1d4ed8;color:#fff;width:auto}
.status{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#e5e7eb;font-size:.8rem}
.status-completed{background:#dcfce7}.status-rejected,.status-failed{background:#fee2e2}.status-expired,.status-cancelled{background:#fef3c7}.status-running{background:#dbeafe}.status-stuck{background:#b91c1c;color:#fff}
.card{max-width:40rem;margin:0 auto 2rem;background:#fff;border:1px solid #d1d5db;border-top:6px solid #6b7280;border-radius:.5rem;padding:1.25rem 1rem}
@media (min-width:40rem){.card{padding:2rem 2.25rem}.site-header{padding-left:0;padding-right:0}}
.tone-success{border-top-color:#15803d}.tone-info{border-top-color:#1d4ed8}.tone-warning{border-top-color:#b45309}.tone-error{border-top-color:#b91c1c}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .75rem}
h2{font-size:1.125rem;margin:1.75rem 0 .5rem}
p{margin:0 0 .75rem}
.eyebrow{font-size:.875rem;color:#4b5563;margin:0 0 .25rem}
.muted{color:#4b5563}
.small{font-size:.875rem}
a{color:#1d4ed8}
.pre{white-space:pre-wrap}
dl.details{margin:0;border-top:1px solid #e5e7eb}
dl.details>div{padding:.5rem 0;border-bottom:1px solid #e5e7eb}
dl.details dt{font-weight:600;color:#374151;font-size:.875rem}
dl.details dd{margin:0;white-space:pre-wrap}
@media (min-width:40rem){dl.details>div{display:grid;grid-template-columns:11rem 1fr;gap:1rem}dl.details dt{font-size:1rem}}
ol.history{list-style:none;margin:0;padding:0}
ol.history li{padding:.625rem 0;border-bottom:1px solid #e5e7eb}
.badge{display:inline-block;padding:0 .5rem;border-radius:999px;font-size:.8125rem;font-weight:700;color:#fff}
.badge-approved{background:#15803d}.badge-rejected{background:#b91c1c}.badge-changes_requested{background:#b45309}.badge-superseded{background:#4b5563}
blockquote{margin:.375rem 0 0;padding:.25rem .75rem;border-left:4px solid #d1d5db;color:#1f2937;white-space:pre-wrap}
.deadline{background:#eff6ff;border:1px solid #bfdbfe;border-radius:.375rem;padding:.625rem .75rem}
.alert{border:2px solid #b91c1c;background:#fef2f2;color:#7f1d1d;border-radius:.375rem;padding:.75rem 1rem;margin:0 0 1rem}
.alert ul{margin:.25rem 0 0;padding-left:1.25rem}
table.changes{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.95rem}table.changes th,table.changes td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #fecaca;vertical-align:top;white-space:pre-wrap}table.changes del{color:#7f1d1d}table.changes ins{text-decoration:none;font-weight:600;color:#14532d}
textarea.code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.875rem}
form.decision{margin-top:1.75rem;border-top:1px solid #e5e7eb;padding-top:1.25rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
.hint{font-size:.875rem;color:#4b5563;margin:0 0 .5rem}
.field-error{color:#b91c1c;font-weight:600;margin:.25rem 0 .5rem}
textarea{display:block;width:100%;min-height:7rem;padding:.625rem .75rem;font:inherit;color:inherit;background:#fff;border:2px solid #6b7280;border-radius:.375rem;resize:vertical}
textarea[aria-invalid="true"]{border-color:#b91c1c}
.field{margin-bottom:1.125rem}
.field input[type=text],.field select{display:block;width:100%;min-height:44px;padding:.5rem .75rem;font:inherit;color:inherit;background:#fff;border:2px solid #6b7280;border-radius:.375rem}
.field input[aria-invalid="true"],.field select[aria-invalid="true"]{border-color:#b91c1c}
.field input:focus-visible,.field select:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px;border-color:#1d4ed8}
.error-summary{border:2px solid #b91c1c;background:#fef2f2;color:#7f1d1d;border-radius:.375rem;padding:.75rem 1rem;margin:0 0 1rem}
.error-summary ul{margin:.25rem 0 0;padding-left:1.25rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}
.btn{flex:1 1 10rem;min-height:48px;min-width:44px;padding:.75rem 1.25rem;font:inherit;font-size:1.0625rem;font-weight:700;border:2px solid transparent;border-radius:.5rem;cursor:pointer;color:#fff}
.btn-approve{background:#15803d;border-color:#15803d}.btn-approve:hover{background:#166534}
.btn-reject{background:#b91c1c;border-color:#b91c1c}.btn-reject:hover{background:#991b1b}
.btn-changes{background:#b45309;border-color:#b45309}.btn-changes:hover{background:#92400e}
.btn-plain{background:#1f2937;border-color:#1f2937}.btn-plain:hover{background:#111827}
.inbox{padding-left:0;list-style:none}.inbox-item{border-top:1px solid #e5e7eb;padding:.75rem 0}
.inbox-select{display:flex;gap:.75rem;align-items:center}.inbox-select input{width:1.75rem;height:1.75rem;flex:none}
:focus-visible{outline:3px solid #1d4ed8;outline-offset:3px}
.btn:focus-visible{outline:3px solid #111827;outline-offset:3px;box-shadow:0 0 0 6px #fde68a}
textarea:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px;border-color:#1d4ed8}
.notice{margin-top:1rem;font-size:.875rem;color:#374151}
footer.page-footer{margin-top:1.5rem;font-size:.8125rem;color:#4b5563}
`;

/** A complete HTML document around `body`. */
export function layout({ title, body, status, wide, nav }: LayoutProps): string {
  const tone = toneOf(status);
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<meta name="color-scheme" content="light">
<title>${title} · Opsflow</title>
<style>${raw(STYLESHEET)}</style>
</head>
<body>
<header class="${wide ? 'site-header wide' : 'site-header'}">Opsflow${nav ?? false}</header>
<main class="${`card tone-${tone}${wide ? ' wide' : ''}`}">
${body}
</main>
</body>
</html>
`}`;
}
