import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalLinkIn, postJson, submitDecision, submitForm, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

describe('changes requested: send back, edit over the link, ask again', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('round-trips through the requester’s edit form and completes with the edited input', async () => {
    const { body } = await postJson(`${stack.apiUrl}/runs`, {
      process: 'capex',
      input: capexInput({ title: 'Reach truck', amount: 42_000, vendor: 'Jungheinrich' }),
      settings: quickTiming,
    });
    const runId: string = body.runId;
    expect((await submitDecision((await waitForApprovalMail(stack, approvers.lineManager, { subject: /Reach truck/ })).link, 'approve')).status).toBe(200);
    const finance = await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Reach truck/ });

    expect((await submitDecision(finance.link, 'request_changes', '')).status).toBe(422);
    const asked = await submitDecision(finance.link, 'request_changes', 'Get a second quote; 42k is above our usual price');
    expect(asked.status).toBe(200);
    expect(asked.html).toContain('asked for changes');

    const mail = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && /^Changes requested: Reach truck/.test(m.subject));
    expect(mail.text).toContain('Get a second quote');
    const editLink = approvalLinkIn(mail);
    const form = await fetch(editLink);
    expect(form.status).toBe(200);
    const formHtml = await form.text();
    expect(formHtml).toContain('Priya Shah');
    expect(formHtml).toMatch(/name="amount"[^>]*value="42000"/);
    expect(formHtml).toMatch(/<select id="field-category" name="category"/);

    const invalid = await submitForm(editLink, { amount: 'forty', justification: 'short', vendor: 'Linde' });
    expect(invalid.status).toBe(422);
    expect(invalid.html).toMatch(/id="field-amount-error">[^<]*number/);
    expect(invalid.html).toMatch(/id="field-justification-error">[^<]*at least 10/);
    expect(invalid.html).toMatch(/name="vendor"[^>]*value="Linde"/);

    const valid = await submitForm(editLink, {
      amount: '38500.50',
      vendor: 'Linde',
      justification: 'Second quote from Linde is 8% cheaper with the same lift height.',
      _note: 'Switched to Linde',
    });
    expect(valid.status).toBe(200);
    expect(valid.html).toContain('resubmitted');
    expect((await submitForm(editLink, { amount: '1' })).status).toBe(409);

    // A new vendor is material under the capex policy: the line manager who approved Jungheinrich is asked again,
    // with what changed; then the finance director, with the edited amount.
    const managerAgain = await stack.mail.waitFor((m) => m.to.includes(approvers.lineManager) && /^Approval needed again: Reach truck/.test(m.subject));
    expect(managerAgain.text).toContain('Vendor: Jungheinrich → Linde');
    expect(managerAgain.text).toContain('Amount: 42,000.00 EUR → 38,500.50 EUR');
    expect((await submitDecision(approvalLinkIn(managerAgain), 'approve')).status).toBe(200);
    const againMail = await stack.mail.waitFor(
      (m) => m.to.includes(approvers.financeDirector) && /^Approval needed: Reach truck/.test(m.subject) && m.id !== finance.mail.id,
    );
    const again = { mail: againMail, link: approvalLinkIn(againMail) };
    expect(again.link).not.toBe(finance.link);
    expect(again.mail.text).toContain('38,500.50 EUR');
    expect((await submitDecision(again.link, 'approve')).status).toBe(200);

    const run = await waitForRunStatus(stack, runId, 'completed');
    expect(run.input).toMatchObject({ amount: 38_500.5, vendor: 'Linde' });
    expect(run.amount).toBe(38_500.5);
    const [po] = stack.simulators.erp.findByReference(runId);
    expect(po).toMatchObject({ amount: 38_500.5, vendor: 'Linde' });
    const actions = run.timeline.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['revision.requested', 'revision.submitted']));
    const submitted = run.timeline.find((e) => e.action === 'revision.submitted');
    expect(submitted?.actor).toBe(approvers.requester);
    const details = submitted?.details as { changed: string[]; changes: unknown[] };
    expect(details.changed.sort()).toEqual(['amount', 'justification', 'vendor']);
    expect(details.changes).toEqual(
      expect.arrayContaining([
        { field: 'amount', before: 42_000, after: 38_500.5 },
        { field: 'vendor', before: 'Jungheinrich', after: 'Linde' },
      ]),
    );
  });
});
