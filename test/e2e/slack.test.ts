import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostedMessage } from '../../dev/simulators/slack.js';
import { SLACK_ACTIONS } from '../../lib/slack-messages.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { approvalsOnRunPage } from '../support/console-client.js';
import { approvalLinkIn, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/** The demo org's Slack users in the simulated workspace. */
const U = { morgan: 'U0MORGAN', priya: 'U0PRIYA', sam: 'U0SAM', alex: 'U0ALEX', casey: 'U0CASEY', dana: 'U0DANA' } as const;

const hasButtons = (message: PostedMessage) => message.blocks.some((block) => block.type === 'actions');
const shownText = (message: PostedMessage) => JSON.stringify(message.blocks);

describe('deciding approvals in Slack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ slack: true });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const slack = () => stack.simulators.slack;
  const start = async (title: string, overrides: Parameters<typeof capexInput>[0] = {}, settings: object = quickTiming) => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, ...overrides }), settings });
    expect(started.status).toBe(201);
    return started.body.runId as string;
  };
  const messageFor = (user: string, title: string) => waitUntil(async () => slack().messagesFor(user).find((m) => m.text.includes(title)), `a Slack message to ${user} about ${title}`);
  const closedMessage = (user: string, title: string) =>
    waitUntil(async () => slack().messagesFor(user).find((m) => m.text.includes(title) && !hasButtons(m)), `the message to ${user} about ${title} closed`);
  /** The request's own message, updated (same ts, no second post) to say how it ended, with no button left to click. */
  const expectClosedInPlace = async (posted: PostedMessage, title: string, outcome: string) => {
    const closed = await closedMessage(posted.user, title);
    expect(closed.ts).toBe(posted.ts);
    expect(closed.updates.length).toBeGreaterThan(0);
    expect(hasButtons(closed)).toBe(false);
    expect(shownText(closed)).toContain(outcome);
    expect(slack().messagesFor(posted.user).filter((m) => m.text.includes(title))).toHaveLength(1);
  };

  it('takes a 250,000 EUR capex through line manager, finance director and CFO by Slack clicks, audited as slack', async () => {
    const title = 'Slack CNC machine';
    const runId = await start(title);
    for (const user of [U.morgan, U.priya, U.sam]) {
      const message = await messageFor(user, title);
      expect(hasButtons(message)).toBe(true);
      expect(shownText(message)).toContain('250,000.00 EUR');
      expect(shownText(message)).toContain('DMG Mori');
      const answer = await slack().click(user, message.ts, SLACK_ACTIONS.approve);
      expect(answer.status).toBe(200);
      const closed = await closedMessage(user, title);
      expect(shownText(closed)).toMatch(/Approved by [A-Z][a-z]+ [A-Z][a-z]+ via Slack/);
      expect(closed.ts).toBe(message.ts);
    }
    const run = await waitForRunStatus(stack, runId, 'completed');
    expect(run.outcome).toBe('approved');
    expect(stack.simulators.erp.findByReference(runId)).toHaveLength(1);

    const decided = await stack.db.auditEntry.findMany({ where: { runId, action: 'approval.decided' }, orderBy: { id: 'asc' } });
    expect(decided.map((e) => e.actor)).toEqual([approvers.lineManager, approvers.financeDirector, approvers.cfo]);
    for (const entry of decided) expect(entry.details).toMatchObject({ channel: 'slack', decision: 'approved' });
    // The run says how each was decided: GET /runs/:id and the console's run page.
    expect(run.approvals.map((a) => [a.approver.email, a.channel])).toEqual([
      [approvers.lineManager, 'slack'],
      [approvers.financeDirector, 'slack'],
      [approvers.cfo, 'slack'],
    ]);
    expect((await approvalsOnRunPage(stack, runId)).map((row) => [row.Approver, row.Via])).toEqual([
      ['Morgan Lee', 'Slack'],
      ['Priya Shah', 'Slack'],
      ['Sam Okafor', 'Slack'],
    ]);
    // Found by e-mail (users.lookupByEmail) and kept in the directory; one message per request, never two.
    expect((await stack.db.person.findUniqueOrThrow({ where: { email: approvers.lineManager } })).slackUserId).toBe(U.morgan);
    expect(await stack.db.slackMessage.count({ where: { request: { runId } } })).toBe(3);
    expect(slack().messages.filter((m) => m.text.includes(title))).toHaveLength(3);
    // The requester was never asked.
    expect(slack().messagesFor(U.alex).filter((m) => m.text.includes(title))).toEqual([]);
  });

  it('refuses forged clicks (bad signature, old timestamp, another user) and decides nothing; a decision by link updates the message', async () => {
    // Casey is in the directory with her Slack user (set through the directory API), but this request is Morgan's.
    const patch = (email: string, body: unknown) =>
      fetch(`${stack.apiUrl}/directory/people/${email}`, { method: 'PATCH', headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const set = await patch('casey.nguyen@example.com', { slackUserId: U.casey });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ email: 'casey.nguyen@example.com', slackUserId: U.casey });
    const taken = await patch('omar.haddad@example.com', { slackUserId: U.casey });
    expect(taken.status).toBe(422);
    expect(await taken.json()).toMatchObject({ error: { details: { issues: [{ path: 'slackUserId', message: "is already casey.nguyen@example.com's Slack user" }] } } });
    expect((await patch('omar.haddad@example.com', { slackUserId: 'not-an-id' })).status).toBe(422);

    const title = 'Slack forged drill';
    const runId = await start(title, { amount: 4_000 });
    const message = await messageFor(U.morgan, title);

    const badSignature = await slack().click(U.morgan, message.ts, SLACK_ACTIONS.approve, { signingSecret: 'not-the-signing-secret' });
    expect(badSignature.status).toBe(401);
    const oldTimestamp = await slack().click(U.morgan, message.ts, SLACK_ACTIONS.approve, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(oldTimestamp.status).toBe(401);
    expect(oldTimestamp.body).toContain('X-Slack-Request-Timestamp');
    const otherUser = await slack().click(U.casey, message.ts, SLACK_ACTIONS.approve);
    expect(otherUser.status).toBe(200);
    await waitUntil(async () => slack().ephemerals.find((e) => e.user === U.casey && /not yours to decide/.test(e.text)), 'the refusal told to the other user');
    // A modal the other user might open is refused too.
    await slack().click(U.casey, message.ts, SLACK_ACTIONS.reject);
    expect(slack().views.filter((v) => v.user === U.casey)).toEqual([]);

    const request = await stack.db.approvalRequest.findFirstOrThrow({ where: { runId } });
    expect(request.usedAt).toBeNull();
    expect(await stack.db.auditEntry.count({ where: { runId, action: 'approval.decided' } })).toBe(0);
    expect(message.updates).toEqual([]);
    expect(hasButtons(message)).toBe(true);

    const mail = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    expect((await submitDecision(mail.link, 'approve', 'Fine by me')).status).toBe(200);
    const closed = await closedMessage(U.morgan, title);
    expect(closed.ts).toBe(message.ts);
    expect(shownText(closed)).toContain('Approved by Morgan Lee via link');
    expect(shownText(closed)).toContain('Fine by me');
    const run = await waitForRunStatus(stack, runId, 'completed');
    expect(run.approvals.map((a) => a.channel)).toEqual(['link']);
    expect((await approvalsOnRunPage(stack, runId)).map((row) => row.Via)).toEqual(['link']);
  });

  it('rejects through the reason modal: the reason is required, recorded and shown on the message', async () => {
    const title = 'Slack rejected press';
    const runId = await start(title, { amount: 4_500 });
    const message = await messageFor(U.morgan, title);
    expect((await slack().click(U.morgan, message.ts, SLACK_ACTIONS.reject)).status).toBe(200);
    const modal = slack().views.filter((v) => v.user === U.morgan).at(-1);
    expect(modal?.view).toMatchObject({ type: 'modal', title: { text: 'Reject' } });

    const empty = await slack().submitView(U.morgan, '   ');
    expect(JSON.parse(empty.body)).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringMatching(/reason is required/) } });
    expect((await slack().submitView(U.morgan, 'Buy the refurbished one')).status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'rejected');
    expect(run.outcome).toBe('rejected');
    const [entry] = await stack.db.auditEntry.findMany({ where: { runId, action: 'approval.decided' } });
    expect(entry?.details).toMatchObject({ channel: 'slack', decision: 'rejected', comment: 'Buy the refurbished one' });
    const closed = await closedMessage(U.morgan, title);
    expect(shownText(closed)).toContain('Rejected by Morgan Lee via Slack');
    expect(shownText(closed)).toContain('Buy the refurbished one');
  });

  it('a click on a version that is no longer current decides nothing: the message shows what changed and fresh buttons', async () => {
    const title = 'Slack stale saw';
    const runId = await start(title, { amount: 4_200 });
    const message = await messageFor(U.morgan, title);
    const current = (await waitUntil(async () => (await stack.db.slackMessage.findFirst({ where: { request: { runId } } })) ?? undefined, 'the record of the post')).version;
    const older = 'c'.repeat(64);
    const [requestId] = (message.blocks.find((b) => b.type === 'actions')!.elements as Array<{ value: string }>)[0]!.value.split('|');
    expect((await slack().click(U.morgan, message.ts, SLACK_ACTIONS.approve, { value: `${requestId}|${older}` })).status).toBe(200);
    const refreshed = await waitUntil(async () => message.updates.length > 0 && message, 'the message refreshed');
    expect(shownText(refreshed)).toContain('The request changed since this message was posted; nothing was decided.');
    expect(shownText(refreshed)).toContain(`${requestId}|${current}`);
    expect(await stack.db.auditEntry.count({ where: { runId, action: 'approval.decided' } })).toBe(0);
    expect(hasButtons(refreshed)).toBe(true);
  });

  it('asks for changes through the modal: the comment is required, recorded as changes_requested, and the requester gets the edit link', async () => {
    const title = 'Slack changes lathe';
    const runId = await start(title, { amount: 4_300 });
    const message = await messageFor(U.morgan, title);
    expect((await slack().click(U.morgan, message.ts, SLACK_ACTIONS.changes)).status).toBe(200);
    const modal = slack().views.filter((v) => v.user === U.morgan).at(-1);
    expect(modal?.view).toMatchObject({ type: 'modal', title: { text: 'Request changes' }, blocks: expect.arrayContaining([expect.objectContaining({ label: { type: 'plain_text', text: 'What should change?' } })]) });

    const empty = await slack().submitView(U.morgan, '  ');
    expect(JSON.parse(empty.body)).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringMatching(/reason is required/) } });
    expect(await stack.db.auditEntry.count({ where: { runId, action: 'approval.decided' } })).toBe(0);

    expect((await slack().submitView(U.morgan, 'Please add the second quote')).status).toBe(200);
    const edit = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && m.subject.startsWith(`Changes requested: ${title}`));
    expect(edit.text).toContain('Morgan Lee');
    expect(edit.text).toContain('Please add the second quote');
    const form = await fetch(approvalLinkIn(edit));
    expect(form.status).toBe(200);
    expect(await form.text()).toMatch(/name="amount"[^>]*value="4300"/);
    const [entry, ...more] = await stack.db.auditEntry.findMany({ where: { runId, action: 'approval.decided' } });
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ actor: approvers.lineManager, details: { channel: 'slack', decision: 'changes_requested', comment: 'Please add the second quote' } });
    await expectClosedInPlace(message, title, 'Changes requested by Morgan Lee via Slack');
    expect(shownText(await closedMessage(U.morgan, title))).toContain('Please add the second quote');
    expect((await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'Slack test done' })).status).toBe(202);
  });

  it('a reassigned request: its message is closed in place and the new approver gets their own', async () => {
    const title = 'Slack reassigned drill';
    const runId = await start(title, { amount: 4_100 });
    const message = await messageFor(U.morgan, title);
    const request = await stack.db.approvalRequest.findFirstOrThrow({ where: { runId } });
    const moved = await postJson(`${stack.apiUrl}/runs/${runId}/approvals/${request.id}/reassign`, { to: approvers.coo, reason: 'Morgan is on leave' });
    expect(moved.status).toBe(200);

    await expectClosedInPlace(message, title, 'Closed without a decision: the request was reassigned to Dana Whitfield.');
    const danas = await messageFor(U.dana, title);
    expect(hasButtons(danas)).toBe(true);
    expect(danas.ts).not.toBe(message.ts);
    expect((await slack().click(U.dana, danas.ts, SLACK_ACTIONS.approve)).status).toBe(200);
    await expectClosedInPlace(danas, title, 'Approved by Dana Whitfield via Slack');
    await waitForRunStatus(stack, runId, 'completed');
  });

  it('escalated at the SLA and expired at the escalation deadline: each message is closed in place', async () => {
    const title = 'Slack escalated press';
    const runId = await start(title, { amount: 4_600 }, { approval: { reminderAfter: '1h', timeout: '2s', onTimeout: 'escalate', escalateTo: 'manager-of-approver', escalationTimeout: '3s' } });
    const message = await messageFor(U.morgan, title);
    expect(hasButtons(message)).toBe(true);

    // At the SLA the request passes from Morgan to his manager, Dana, who gets her own message.
    await expectClosedInPlace(message, title, 'Closed without a decision: the request was escalated to Dana Whitfield.');
    const danas = await messageFor(U.dana, title);
    expect(shownText(danas)).toContain('Escalated to you from Morgan Lee.');
    expect(hasButtons(danas)).toBe(true);

    // Nobody decides before the escalation's deadline: the run expires and Dana's message says so.
    await waitForRunStatus(stack, runId, 'expired');
    await expectClosedInPlace(danas, title, 'Closed without a decision: the request expired.');
  });

  it('a cancelled run closes its open message in place', async () => {
    const title = 'Slack cancelled saw';
    const runId = await start(title, { amount: 4_400 });
    const message = await messageFor(U.morgan, title);
    expect((await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'Bought second-hand instead' })).status).toBe(202);
    await waitForRunStatus(stack, runId, 'cancelled');
    await expectClosedInPlace(message, title, 'Closed without a decision: the run was cancelled.');
  });

  it("never posts the requester's own request to them: their seat goes to someone else", async () => {
    const title = 'Slack own request';
    // Morgan is the line manager; on his own request the line-manager seat passes him by.
    const runId = await start(title, { amount: 4_000, requester: { name: 'Morgan Lee', email: approvers.lineManager } });
    const request = await waitUntil(async () => (await stack.db.approvalRequest.findFirst({ where: { runId } })) ?? undefined, 'the first approval request');
    expect(request.approverEmail).not.toBe(approvers.lineManager);
    await waitUntil(async () => stack.db.slackMessage.findUnique({ where: { requestId: request.id } }), 'its Slack message');
    expect(slack().messagesFor(U.morgan).filter((m) => m.text.includes(title))).toEqual([]);
  });
});
