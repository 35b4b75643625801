import { describe, expect, it } from 'vitest';
import {
  approvalPage,
  approvalResultPage,
  formatDateTime,
  type ApprovalPageProps,
  type ResultKind,
} from '../../api/pages/approval.js';
import { SafeHtml, escapeHtml, html, layout, raw } from '../../api/pages/html.js';

const TOKEN = 'tK9_xQ2-secretTokenValue0123456789';
const VERSION = '3f'.repeat(32);

function props(overrides: Partial<ApprovalPageProps> = {}): ApprovalPageProps {
  return {
    token: TOKEN,
    processTitle: 'Capex sign-off',
    runTitle: 'New CNC machine for line 3',
    stepTitle: 'Finance director approval',
    approverName: 'Priya Shah',
    requester: { name: 'Alex Novak', email: 'alex.novak@example.com' },
    expiresAt: new Date('2026-11-25T14:05:00Z'),
    details: [
      { label: 'Amount', value: '250,000.00 EUR' },
      { label: 'Vendor', value: 'DMG Mori' },
      { label: 'Cost center', value: 'OPS-310' },
      { label: 'Justification', value: 'Line 3 runs at 140% of its capacity.\nThe new machine removes the weekend shifts.' },
    ],
    history: [],
    version: VERSION,
    ...overrides,
  };
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** The body text between <dd> and </dd> for a given <dt> label. */
function ddFor(page: string, label: string): string | undefined {
  const m = new RegExp(`<dt>${label}</dt><dd>([\\s\\S]*?)</dd>`).exec(page);
  return m?.[1];
}

describe('html helper', () => {
  it('escapes interpolated strings and numbers but not nested html or raw()', () => {
    const name = '<b>"Tom" & \'Jerry\'</b>';
    const out = html`<p title="${name}">${name} ${42} ${html`<em>${'x<y'}</em>`} ${raw('<hr>')}</p>`;
    expect(out).toBeInstanceOf(SafeHtml);
    expect(out.toString()).toBe(
      '<p title="&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;">&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt; 42 <em>x&lt;y</em> <hr></p>',
    );
  });

  it('joins arrays, escapes strings inside them, and renders null/undefined/false as nothing', () => {
    const items = ['a&b', 'c'];
    const out = html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>${null}${undefined}${false}${['<x>']}`;
    expect(out.toString()).toBe('<ul><li>a&amp;b</li><li>c</li></ul>&lt;x&gt;');
  });

  it('escapeHtml escapes the five significant characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('layout renders a complete, self-contained document', () => {
    const doc = layout({ title: 'A <title>', body: html`<p>Hi</p>`, status: 410 });
    expect(doc.startsWith('<!doctype html>')).toBe(true);
    expect(doc).toContain('<html lang="en">');
    expect(doc).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(doc).toContain('<meta name="referrer" content="no-referrer">');
    expect(doc).toContain('<title>A &lt;title&gt; · Opsflow</title>');
    expect(doc).toContain('<style>');
    expect(doc).toContain('Opsflow</header>');
    expect(doc).toContain('<p>Hi</p>');
    expect(doc).toContain('tone-warning');
    // No external assets and no scripts.
    expect(doc).not.toMatch(/<script|<link|src=|https?:\/\//i);
  });
});

describe('formatDateTime', () => {
  it('formats deterministically in UTC', () => {
    expect(formatDateTime(new Date('2026-11-25T14:05:00Z'))).toBe('25 Nov 2026, 14:05 UTC');
    expect(formatDateTime(new Date('2026-01-03T00:00:59.999Z'))).toBe('3 Jan 2026, 00:00 UTC');
    expect(formatDateTime(new Date('2026-12-31T23:30:00-02:00'))).toBe('1 Jan 2027, 01:30 UTC');
  });
});

describe('approvalPage', () => {
  it('shows what is asked, by whom, the details and the deadline', () => {
    const page = approvalPage(props());
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain('Capex sign-off');
    expect(page).toContain('New CNC machine for line 3');
    expect(page).toContain('<h1>Finance director approval</h1>');
    expect(page).toContain('Priya Shah');
    expect(page).toContain('Alex Novak');
    expect(page).toContain('alex.novak@example.com');
    expect(page).toContain('<dl class="details">');
    expect(ddFor(page, 'Amount')).toBe('250,000.00 EUR');
    expect(ddFor(page, 'Vendor')).toBe('DMG Mori');
    expect(page).toContain('<time datetime="2026-11-25T14:05:00.000Z">25 Nov 2026, 14:05 UTC</time>');
    expect(page).toContain('Opening this page does not decide anything.');
    expect(page).not.toMatch(/<script/i);
  });

  it('escapes every value: hostile requester name, quotes and ampersands in the justification', () => {
    const page = approvalPage(
      props({
        requester: { name: '<script>alert(1)</script>', email: 'x"@example.com' },
        details: [{ label: 'Justification', value: 'Say "yes" & <b>sign</b>' }],
        runTitle: '<img src=x onerror=alert(1)>',
      }),
    );
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('x&quot;@example.com');
    expect(ddFor(page, 'Justification')).toBe('Say &quot;yes&quot; &amp; &lt;b&gt;sign&lt;/b&gt;');
  });

  it('puts the token only in the form action', () => {
    const page = approvalPage(props());
    expect(occurrences(page, TOKEN)).toBe(1);
    expect(page).toContain(`<form class="decision" method="post" action="/approvals/${TOKEN}">`);
    expect(occurrences(page, '<form')).toBe(1);
  });

  it('encodes a token with URL-significant characters in the action', () => {
    const page = approvalPage(props({ token: 'a/b?c"d' }));
    expect(page).toContain('action="/approvals/a%2Fb%3Fc%22d"');
    expect(page).not.toContain('a/b?c');
  });

  it('has the comment field and the three decision buttons', () => {
    const page = approvalPage(props());
    expect(page).toContain('<label for="comment">Comment (required to reject or request changes)</label>');
    expect(page).toMatch(/<button[^>]*type="submit" name="decision" value="request_changes"[^>]*>Request changes<\/button>/);
    expect(page).toMatch(/<textarea id="comment" name="comment"[^>]*aria-describedby="comment-hint"/);
    expect(page).toMatch(/<button[^>]*type="submit" name="decision" value="approve"[^>]*>Approve<\/button>/);
    expect(page).toMatch(/<button[^>]*type="submit" name="decision" value="reject"[^>]*>Reject<\/button>/);
    expect(page).toContain('btn-approve');
    expect(page).toContain('btn-reject');
  });

  it('preserves line breaks in multi-line values', () => {
    const page = approvalPage(props());
    expect(ddFor(page, 'Justification')).toBe('Line 3 runs at 140% of its capacity.\nThe new machine removes the weekend shifts.');
    expect(page).toMatch(/dl\.details dd\{[^}]*white-space:pre-wrap/);
  });

  it('says "No decisions yet" without history', () => {
    expect(approvalPage(props())).toContain('No decisions yet');
  });

  it('renders the history of earlier decisions, escaped, with comments', () => {
    const page = approvalPage(
      props({
        history: [
          {
            stepTitle: 'Line manager approval',
            approverName: 'Morgan Lee',
            decision: 'approved',
            comment: 'OK <fine> &\nsecond line',
            decidedAt: new Date('2026-11-20T09:00:00Z'),
          },
          {
            stepTitle: 'Plant manager approval',
            approverName: 'Sam Ortiz',
            decision: 'approved',
            comment: null,
            decidedAt: new Date('2026-11-21T16:45:00Z'),
          },
        ],
      }),
    );
    expect(page).not.toContain('No decisions yet');
    expect(page).toContain('<ol class="history">');
    expect(occurrences(page, '<li>')).toBe(2);
    expect(page).toContain('Line manager approval');
    expect(page).toContain('Morgan Lee');
    expect(page).toContain('20 Nov 2026, 09:00 UTC');
    expect(page).toContain('Sam Ortiz');
    expect(page).toContain('21 Nov 2026, 16:45 UTC');
    expect(page).toContain('<blockquote>OK &lt;fine&gt; &amp;\nsecond line</blockquote>');
    expect(occurrences(page, '<blockquote>')).toBe(1);
    expect(occurrences(page, '>Approved</span>')).toBe(2);
  });

  it('shows a rejected history entry', () => {
    const page = approvalPage(
      props({
        history: [
          { stepTitle: 'CFO approval', approverName: 'Kim', decision: 'rejected', comment: 'Too expensive', decidedAt: new Date(0) },
        ],
      }),
    );
    expect(page).toContain('badge-rejected');
    expect(page).toContain('>Rejected</span>');
    expect(page).toContain('Too expensive');
  });

  it('re-renders with the error and keeps what the user typed', () => {
    const typed = 'Half a thought </textarea><script>x()</script>';
    const page = approvalPage(
      props({
        error: { message: 'Please correct the form.', fieldErrors: { comment: 'A reason is required to reject.' } },
        values: { comment: typed },
      }),
    );
    expect(page).toContain('role="alert"');
    expect(page).toContain('Please correct the form.');
    expect(page).toContain('<p class="field-error" id="comment-error">A reason is required to reject.</p>');
    expect(page).toMatch(/<textarea[^>]*aria-describedby="comment-hint comment-error"[^>]*aria-invalid="true"/);
    expect(page).toContain('Half a thought &lt;/textarea&gt;&lt;script&gt;x()&lt;/script&gt;</textarea>');
    expect(page).not.toContain('<script>');
    expect(occurrences(page, '</textarea>')).toBe(1);
  });

  it('does not mark the comment invalid without an error', () => {
    const page = approvalPage(props());
    expect(page).toMatch(/<textarea id="comment"[^>]*>/);
    expect(/<textarea id="comment"[^>]*>/.exec(page)?.[0]).not.toContain('aria-invalid');
    expect(page).not.toContain('role="alert"');
    expect(page).not.toContain('field-error" id=');
  });
});

describe('approvalResultPage', () => {
  const decidedAt = new Date('2026-11-25T14:05:00Z');
  const base = { runTitle: 'New CNC machine for line 3', stepTitle: 'Finance director approval' };

  const cases: Array<[ResultKind, number, RegExp]> = [
    ['approved', 200, /Thank you — you approved “New CNC machine for line 3”/],
    ['rejected', 200, /Thank you — you rejected “New CNC machine for line 3”/],
    ['already_decided', 409, /This request was already decided/],
    ['expired', 410, /This link has expired/],
    ['revoked', 410, /This link is no longer valid/],
    ['not_found', 404, /This link is not valid\. Check you copied the whole link from the e-mail\./],
    ['closed', 409, /This run is already closed/],
    ['unavailable', 503, /We could not record your decision right now\. Nothing was decided\. Please try again in a minute\./],
  ];

  it.each(cases)('%s → %i with a human message', (kind, status, message) => {
    const result = approvalResultPage({ kind, ...base });
    expect(result.status).toBe(status);
    expect(result.html.startsWith('<!doctype html>')).toBe(true);
    expect(result.html).toMatch(message);
    expect(result.html).not.toMatch(/at .*\.ts:\d+|Error:|undefined|null|NaN/);
  });

  it('works with no context at all', () => {
    for (const [kind, status] of cases) {
      const result = approvalResultPage({ kind });
      expect(result.status).toBe(status);
      expect(result.html).not.toMatch(/undefined|null|NaN/);
    }
  });

  it('explains what happens next after a decision', () => {
    expect(approvalResultPage({ kind: 'approved', ...base, decidedAt }).html).toMatch(/What happens next/);
    expect(approvalResultPage({ kind: 'approved', ...base, decidedAt }).html).toContain('25 Nov 2026, 14:05 UTC');
    expect(approvalResultPage({ kind: 'rejected', ...base }).html).toMatch(/What happens next/);
  });

  it('says who decided and when for already_decided', () => {
    const { html: page } = approvalResultPage({ kind: 'already_decided', ...base, decision: 'approved', decidedBy: 'Dana Lee', decidedAt });
    expect(page).toContain('This request was already decided: approved by Dana Lee at <time datetime="2026-11-25T14:05:00.000Z">25 Nov 2026, 14:05 UTC</time>.');
  });

  it('gives the revoked reason', () => {
    expect(approvalResultPage({ kind: 'revoked', reason: 'escalated to Dana Lee' }).html).toContain('Reason: escalated to Dana Lee.');
    expect(approvalResultPage({ kind: 'revoked', reason: 'run cancelled.' }).html).toContain('Reason: run cancelled.');
    expect(approvalResultPage({ kind: 'revoked' }).html).toMatch(/no longer needed/);
  });

  it('gives the closed reason', () => {
    const { html: page } = approvalResultPage({ kind: 'closed', runTitle: 'X', reason: 'it is cancelled' });
    expect(page).toContain('(it is cancelled)');
  });

  it('not_found reveals nothing, even if context were passed', () => {
    const { html: page } = approvalResultPage({ kind: 'not_found', ...base, decidedBy: 'Dana Lee', reason: 'secret' });
    expect(page).not.toContain('New CNC machine');
    expect(page).not.toContain('Finance director');
    expect(page).not.toContain('Dana Lee');
    expect(page).not.toContain('secret');
  });

  it('escapes values on result pages', () => {
    const { html: page } = approvalResultPage({ kind: 'revoked', runTitle: '<script>1</script>', reason: '<b>x</b> & "y"' });
    expect(page).not.toContain('<script>1');
    expect(page).toContain('&lt;script&gt;1&lt;/script&gt;');
    expect(page).toContain('Reason: &lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;.');
  });
});

describe('decision version on the approval page', () => {
  it('posts the version of the facts it shows, and names it', () => {
    const page = approvalPage(props());
    expect(page).toContain(`<input type="hidden" name="version" value="${VERSION}">`);
    expect(page).toContain(`Version <code>${VERSION.slice(0, 12)}</code>`);
  });

  it('shows what changed since a stale page, old → new, escaped', () => {
    const page = approvalPage(
      props({ changes: { kind: 'stale', items: [{ label: 'Amount', before: '25,000.00 EUR', after: '99,000.00 EUR' }, { label: 'Vendor', before: 'Trumpf', after: '<b>Trumpf Premium</b>' }] } }),
    );
    expect(page).toContain('This request changed after you opened the page. Nothing was decided');
    expect(page).toContain('<tr><th scope="row">Amount</th><td><del>25,000.00 EUR</del></td><td><ins>99,000.00 EUR</ins></td></tr>');
    expect(page).toContain('&lt;b&gt;Trumpf Premium&lt;/b&gt;');
    expect(page).not.toContain('<b>Trumpf Premium</b>');
  });

  it('says why a step is asked again after an edit', () => {
    const page = approvalPage(props({ changes: { kind: 'since_approval', items: [{ label: 'Amount', before: '25,000.00 EUR', after: '99,000.00 EUR' }] } }));
    expect(page).toContain('You are asked again because the request was edited after this step was approved');
  });

  it('marks an earlier approval whose facts changed since, not materially, as standing, naming the facts', () => {
    const page = approvalPage(
      props({
        history: [
          { stepTitle: 'Line manager approval', approverName: 'Morgan Lee', decision: 'approved', comment: null, decidedAt: new Date('2026-11-25T10:00:00Z'), version: 'ab'.repeat(32), changedSince: ['Justification'], superseded: false },
        ],
      }),
    );
    expect(page).toContain(`on version <code>${'ab'.repeat(6)}</code>`);
    expect(page).toContain('Changed since: Justification (not material under the policy, so this decision stands)');
  });

  it('calls a superseded approval superseded, and never calls a request for changes standing', () => {
    const decided = { stepTitle: 'Line manager approval', approverName: 'Morgan Lee', comment: null, decidedAt: new Date('2026-11-25T10:00:00Z'), version: 'ab'.repeat(32) };
    const page = approvalPage(
      props({
        history: [
          { ...decided, decision: 'approved', changedSince: ['Amount', 'Vendor'], superseded: true },
          { ...decided, stepTitle: 'Finance director approval', decision: 'changes_requested', comment: 'Premium model', changedSince: ['Amount', 'Vendor'] },
        ],
      }),
    );
    expect(page).toContain('<span class="badge badge-superseded">Superseded approval</span> <strong>Line manager approval</strong>');
    expect(page).toContain('Asked again after a material change: Amount, Vendor. This approval no longer counts.');
    expect(page).toContain('Edited since: Amount, Vendor');
    expect(page).not.toContain('stands');
  });
});

describe('process diagram SVG', () => {
  it('draws one box per step with who, when and deadline, escaping every text', async () => {
    const { diagramSvg } = await import('../../api/pages/diagram.js');
    const svg = diagramSvg('Capex <sign-off>', [
      { id: 'line-manager', kind: 'approval', title: 'Line manager approval', who: "the requester's line manager", deadline: 'after 3d escalates' },
      { id: 'cfo', kind: 'approval', title: 'CFO & board', when: 'amount ≥ 100,000.00 (policy)' },
      { id: 'end', kind: 'end', title: 'Done' },
    ], 'policy v3');
    expect(svg.match(/<rect x=/g)).toHaveLength(3);
    expect(svg).toContain('<g id="step-cfo"><rect x="40"');
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain('Capex &lt;sign-off&gt;');
    expect(svg).toContain('Approval: CFO &amp; board');
    expect(svg).toContain("Who: the requester&#39;s line manager");
    expect(svg.match(/marker-end/g)).toHaveLength(2);
    expect(svg).not.toMatch(/<script/);
  });
});
