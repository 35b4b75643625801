import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalsOnRunPage } from '../support/console-client.js';
import { hashToken } from '../../lib/tokens.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { approvalLinkIn, currentVersion, postJson, submitDecision, submitForm, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { launchChromium, personInbox, screenshotDir, sidewaysOverflow, signedInBrowser } from '../support/person-inbox.js';
import { startStack, type Stack } from '../support/stack.js';


describe('My approvals: a person signs in by a mailed link and decides several requests at once', () => {
  let stack: Stack;
  let browser: Browser;
  const log: string[] = [];
  const tokensUsed: string[] = [];
  beforeAll(async () => {
    stack = await startStack({ logLevel: 'info', logDestination: { write: (line: string) => void log.push(line) } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    // Sign-in tokens are as good as a session: the request log shows the path without them.
    expect(log.some((line) => line.includes('/me/sign-in/[token]'))).toBe(true);
    for (const token of tokensUsed) expect(log.filter((line) => line.includes(token))).toEqual([]);
    await browser?.close();
    await stack?.stop();
  });

  const me = () => personInbox(stack, { onSignInLink: (link) => tokensUsed.push(link.slice(-43)) });
  const postForm = (...args: Parameters<ReturnType<typeof personInbox>['postForm']>) => me().postForm(...args);
  const inbox = (cookie: string) => me().inbox(cookie);
  const signIn = (email: string) => me().signIn(email);
  const signInLinkFor = (email: string) => me().signInLinkFor(email);

  it('mails a one-time link that works once; an unknown address gets the same answer and no link', async () => {
    const unknown = await postForm('/me', { email: 'nobody@example.com' });
    expect(unknown.status).toBe(200);
    expect(await unknown.text()).toContain('If that address is in the company directory, a sign-in link is on its way');
    expect(await stack.db.signInLink.count({ where: { email: 'nobody@example.com' } })).toBe(0);

    const link = await signInLinkFor(approvers.cfo);
    // Opening the link (a mail scanner, a preview) signs nobody in; only the button does.
    const shown = await fetch(link);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain(`Sign in as ${approvers.cfo}`);
    const foreign = await postForm(new URL(link).pathname, {}, undefined, 'http://evil.example');
    expect(foreign.status).toBe(403);

    const first = await postForm(new URL(link).pathname, {});
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/me/approvals');
    const cookie = /opsflow_me=[^;]+/.exec(first.headers.get('set-cookie') ?? '')![0];
    expect((await fetch(`${stack.apiUrl}/me/approvals`, { headers: { cookie } })).status).toBe(200);

    const second = await postForm(new URL(link).pathname, {});
    expect(second.status).toBe(410);
    expect(await second.text()).toContain('This sign-in link was already used');
    expect((await fetch(link)).status).toBe(410);

    // Signing out ends the session on the server: the same cookie no longer opens the page.
    const { csrf } = await inbox(cookie);
    expect((await postForm('/me/sign-out', { _csrf: csrf }, cookie)).status).toBe(303);
    const after = await fetch(`${stack.apiUrl}/me/approvals`, { headers: { cookie }, redirect: 'manual' });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/me');
  });

  it('refuses a sign-in link once its 15 minutes are over, on a page that says so and offers a new one', async () => {
    const askedFrom = Date.now();
    const link = await signInLinkFor(approvers.coo);
    const askedUntil = Date.now();
    const stored = await stack.db.signInLink.findUniqueOrThrow({ where: { tokenHash: hashToken(link.slice(-43)) } });
    expect(stored.expiresAt.getTime()).toBeGreaterThanOrEqual(askedFrom + 15 * 60_000);
    expect(stored.expiresAt.getTime()).toBeLessThanOrEqual(askedUntil + 15 * 60_000);

    // As if the link had been asked for 15 minutes and a second ago: its expiry is now behind us.
    const ago = 15 * 60_000 + 1_000;
    await stack.db.signInLink.update({ where: { id: stored.id }, data: { createdAt: new Date(stored.createdAt.getTime() - ago), expiresAt: new Date(stored.expiresAt.getTime() - ago) } });
    const shown = await fetch(link);
    expect(shown.status).toBe(410);
    const page = await shown.text();
    expect(page).toContain('This sign-in link has expired (links work for 15 minutes): ask for a new one.');
    expect(page).toContain('<a href="/me">Ask for a new sign-in link</a>');
    expect(page).not.toContain('Sign in as');

    const used = await postForm(new URL(link).pathname, {});
    expect(used.status).toBe(410);
    expect(await used.text()).toContain('This sign-in link has expired');
    expect(used.headers.get('set-cookie')).toBeNull();
    expect(await stack.db.personSession.count({ where: { email: approvers.coo } })).toBe(0);
    expect((await stack.db.signInLink.findUniqueOrThrow({ where: { id: stored.id } })).usedAt).toBeNull();
  });

  it('approves five selected requests; the one whose facts changed is refused with its diff, the others are decided and audited as inbox', async () => {
    const titles = ['Inbox drill', 'Inbox lathe', 'Inbox press', 'Inbox saw'];
    const quick = await Promise.all(
      titles.map(async (title) => (await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 4_000 + titles.indexOf(title) }), settings: quickTiming })).body.runId as string),
    );
    // The fifth: Morgan approved it once, the finance director asked for changes, Alex raised the amount, so Morgan is
    // asked again. His form still carries the version he saw before the edit (a page opened earlier).
    const editedTitle = 'Inbox laser';
    const edited = (await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: editedTitle, amount: 25_000 }), settings: quickTiming })).body.runId as string;
    const versionBeforeEdit = await currentVersion(stack, edited);
    expect((await submitDecision((await waitForApprovalMail(stack, approvers.lineManager, { subject: /Inbox laser/ })).link, 'approve')).status).toBe(200);
    const priya = await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Inbox laser/ });
    expect((await submitDecision(priya.link, 'request_changes', 'Quote the service contract too')).status).toBe(200);
    const edit = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && m.subject.startsWith(`Changes requested: ${editedTitle}`));
    expect((await submitForm(approvalLinkIn(edit), { amount: '31000' })).status).toBe(200);
    await stack.mail.waitFor((m) => m.to.includes(approvers.lineManager) && m.subject.startsWith(`Approval needed again: ${editedTitle}`));

    const cookie = await signIn(approvers.lineManager);
    const shown = await waitUntil(async () => {
      const view = await inbox(cookie);
      return view.items.length === 5 && view;
    }, 'five open requests in the inbox');
    // Oldest first: the four quick ones were opened before the re-approval.
    expect(shown.page.indexOf('Inbox laser')).toBeGreaterThan(Math.max(...titles.map((t) => shown.page.indexOf(t))));
    expect(shown.page).toContain('31,000.00 EUR');

    const reapproval = shown.items.find((item) => item.startsWith(`${edited}:`))!;
    const selected = shown.items.map((item) => (item === reapproval ? `${reapproval.split('|')[0]}|${versionBeforeEdit}` : item));
    const result = await postForm('/me/approvals/decide', { _csrf: shown.csrf, decision: 'approve', item: selected }, cookie);
    expect(result.status).toBe(200);
    const resultPage = await result.text();
    expect(resultPage).toContain('4 of 5 approved');
    expect(resultPage).toContain('This request changed after you opened the page. Nothing was decided');
    expect(resultPage).toContain('<tr><th scope="row">Amount</th><td><del>25,000.00 EUR</del></td><td><ins>31,000.00 EUR</ins></td></tr>');

    const completed = [];
    for (const runId of quick) completed.push(await waitForRunStatus(stack, runId, 'completed'));
    expect(completed.map((run) => run.approvals.map((a) => a.channel))).toEqual(quick.map(() => ['inbox']));
    expect((await approvalsOnRunPage(stack, quick[0]!)).map((row) => row.Via)).toEqual(['inbox']);
    const decided = await stack.db.auditEntry.findMany({ where: { runId: { in: quick }, action: 'approval.decided' } });
    expect(decided).toHaveLength(4);
    for (const entry of decided) {
      expect(entry.actor).toBe(approvers.lineManager);
      expect(entry.details).toMatchObject({ channel: 'inbox', decision: 'approved' });
    }
    // The stale one is still Morgan's to decide, now on the edited version.
    const still = await inbox(cookie);
    expect(still.items).toEqual([`${reapproval.split('|')[0]}|${await currentVersion(stack, edited)}`]);
    expect(still.page).toMatch(/Inbox drill[\s\S]*by inbox/);

    // Requests that are not his, or already decided, are refused one by one and decide nothing.
    const priyasRequest = await stack.db.approvalRequest.findFirstOrThrow({ where: { runId: edited, approverEmail: approvers.financeDirector } });
    const mixed = await postForm('/me/approvals/decide', { _csrf: still.csrf, item: [`${priyasRequest.id}|${versionBeforeEdit}`, shown.items[0]!] }, cookie);
    const mixedPage = await mixed.text();
    expect(mixedPage).toContain('0 of 2 approved');
    expect(mixedPage).toContain('This request is not yours to decide.');
    expect(mixedPage).toContain(`Already decided by ${approvers.lineManager}`);

    // A post without the session's CSRF token decides nothing.
    expect((await postForm('/me/approvals/decide', { item: still.items }, cookie)).status).toBe(403);
  });

  it('looks right on a phone and a desktop in Chromium, signing in through the mailed link without JavaScript', async () => {
    await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Inbox on a phone', amount: 12_500 }), settings: quickTiming });
    await waitForApprovalMail(stack, approvers.lineManager, { subject: /Inbox on a phone/ });
    for (const [label, device] of [['390px', 'phone'], ['desktop', 'desktop']] as const) {
      const { context, page } = await signedInBrowser(browser, await signInLinkFor(approvers.lineManager), device);
      const text = await page.locator('main').innerText();
      expect(text).toContain('Inbox on a phone');
      expect(text).toContain('12,500.00 EUR');
      expect(await sidewaysOverflow(page)).toBe(0);
      await page.screenshot({ path: `${screenshotDir}my-approvals-${label}.png`, fullPage: true });
      await context.close();
    }
  });

  it('sets and ends an out-of-office from the page, audited as the person', async () => {
    const cookie = await signIn(approvers.financeDirector);
    const { csrf } = await inbox(cookie);
    const refused = await postForm('/me/out-of-office', { _csrf: csrf, delegateEmail: approvers.financeDirector, startsAt: '2030-01-01T09:00', endsAt: '2030-01-05T18:00' }, cookie);
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('cannot delegate to oneself');
    const set = await postForm('/me/out-of-office', { _csrf: csrf, delegateEmail: approvers.cfo, startsAt: '2030-01-01T09:00', endsAt: '2030-01-05T18:00', reason: 'Holiday' }, cookie);
    expect(set.status).toBe(303);
    const delegation = await stack.db.delegation.findFirstOrThrow({ where: { personEmail: approvers.financeDirector } });
    expect(delegation).toMatchObject({ delegateEmail: approvers.cfo, startsAt: new Date('2030-01-01T09:00:00Z'), endsAt: new Date('2030-01-05T18:00:00Z'), createdBy: approvers.financeDirector });
    expect((await inbox(cookie)).page).toContain(`${approvers.cfo} decides for you`);
    expect((await postForm(`/me/out-of-office/${delegation.id}/end`, { _csrf: csrf }, cookie)).status).toBe(303);
    expect(await stack.db.delegation.count({ where: { personEmail: approvers.financeDirector } })).toBe(0);
    const audit = await stack.db.auditEntry.findMany({ where: { action: { in: ['delegation.created', 'delegation.deleted'] } }, orderBy: { id: 'asc' } });
    expect(audit.map((e) => [e.action, e.actor])).toEqual([
      ['delegation.created', approvers.financeDirector],
      ['delegation.deleted', approvers.financeDirector],
    ]);
  });
});
