import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken, legacyLinkToken, mintLinkToken, tokenKeyId, tokenKeyRing } from '../../lib/tokens.js';
import { approvers, capexInput } from '../support/fixtures.js';
import { approvalLinkIn, getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type RunningWorker, type Stack } from '../support/stack.js';

/** The TOKEN_SECRET docker-compose.yml defaulted to: public, so an attacker knows it. */
const COMPOSE_DEFAULT_SECRET = 'change-me-to-32-or-more-random-characters';

/** Reminders every 2 s so a test sees several; the step stays open for an hour. */
const remindOften = { approval: { reminderAfter: '2s', timeout: '1h', escalationTimeout: '1h' } };

describe('approval links cannot be forged, and survive a key rotation', () => {
  let stack: Stack;
  let worker: RunningWorker;
  beforeAll(async () => {
    // The deployment still runs on the published compose default: links must be unforgeable even then.
    stack = await startStack({ worker: 'none', tokenSecrets: [COMPOSE_DEFAULT_SECRET] });
    worker = await stack.startWorker();
  });
  afterAll(async () => {
    await worker?.stop();
    await stack?.stop();
  });

  async function startCapex(title: string) {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 2_500 }), settings: remindOften });
    expect(started.status).toBe(201);
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(`^Approval needed: ${title}`) });
    const run = await getJson(`${stack.apiUrl}/runs/${started.body.runId}`);
    return { runId: started.body.runId as string, link, requestId: run.body.approvals[0].requestId as string };
  }

  /** The links of the reminders for `title` received after `since`, once there are at least `count`. */
  const reminderLinks = (title: string, since: Date, count = 1) =>
    waitUntil(() => {
      const reminders = stack.mail
        .messages()
        .filter((m) => m.to.includes(approvers.lineManager) && m.subject.startsWith(`Reminder: approval needed: ${title} (`) && m.receivedAt > since);
      return Promise.resolve(reminders.length >= count ? reminders.map(approvalLinkIn) : undefined);
    }, `${count} reminder(s) for "${title}"`);

  it('a token minted from the (public) request id and the compose secret does not open the link', async () => {
    const { runId, link, requestId } = await startCapex('Forgery attempt');
    // The request id is no secret: the run view shows it.
    expect(requestId).toBe(`${runId}:line-manager:a1:s0:r1`);
    const composeKey = tokenKeyRing([COMPOSE_DEFAULT_SECRET])[0]!;
    const forged = [
      legacyLinkToken(COMPOSE_DEFAULT_SECRET, requestId), // the scheme before this change: HMAC(secret, request id)
      mintLinkToken(composeKey, requestId, ''), // today's scheme without the row's random nonce
      mintLinkToken(composeKey, requestId, randomBytes(32).toString('base64url')), // ... with a guessed one
    ];
    for (const token of forged) {
      const url = `${stack.apiUrl}/approvals/${token}`;
      expect((await fetch(url)).status, token).toBe(404);
      expect((await submitDecision(url, 'approve')).status, token).toBe(404);
    }
    const row = await stack.db.approvalRequest.findUniqueOrThrow({ where: { id: requestId } });
    expect(row.tokenNonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(row.tokenHash).toBe(hashToken(link.split('/approvals/')[1]!));
    expect((await getJson(`${stack.apiUrl}/runs/${runId}`)).body.approvals[0].state).toBe('pending');
    expect((await submitDecision(link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
  });

  it('reminders and retries carry the link first mailed', async () => {
    const since = new Date();
    const { runId, link } = await startCapex('Same link in reminders');
    const reminders = await reminderLinks('Same link in reminders', since, 2);
    expect(new Set(reminders)).toEqual(new Set([link]));
    expect((await submitDecision(link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
  });

  it('TOKEN_SECRETS=new,old: new links use the new key, old links and their reminders keep working; dropping the old key re-issues them', async () => {
    const oldKey = COMPOSE_DEFAULT_SECRET;
    const newKey = randomBytes(32).toString('base64url');
    const before = await startCapex('Minted before the rotation');

    await worker.stop();
    worker = await stack.startWorker({ config: { TOKEN_SECRETS: [newKey, oldKey] } });
    const rotatedAt = new Date();
    const after = await startCapex('Minted after the rotation');
    const rows = await stack.db.approvalRequest.findMany({ where: { id: { in: [before.requestId, after.requestId] } } });
    expect(Object.fromEntries(rows.map((r) => [r.id, r.tokenKeyId]))).toEqual({ [before.requestId]: tokenKeyId(oldKey), [after.requestId]: tokenKeyId(newKey) });
    // The old request's reminder, sent by the rotated worker, carries the link first mailed; that link still opens.
    expect(new Set(await reminderLinks('Minted before the rotation', rotatedAt))).toEqual(new Set([before.link]));
    expect((await fetch(before.link)).status).toBe(200);
    expect((await submitDecision(after.link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, after.runId, 'completed');

    // The old key leaves the ring (retired, e.g. leaked): the next reminder re-issues the link with the new key.
    await worker.stop();
    worker = await stack.startWorker({ config: { TOKEN_SECRETS: [newKey] } });
    const retiredAt = new Date();
    const [reissued] = await reminderLinks('Minted before the rotation', retiredAt);
    if (!reissued) throw new Error('no reminder after the old key was retired');
    expect(reissued).not.toBe(before.link);
    expect((await fetch(before.link)).status).toBe(404);
    expect((await stack.db.approvalRequest.findUniqueOrThrow({ where: { id: before.requestId } })).tokenKeyId).toBe(tokenKeyId(newKey));
    expect((await submitDecision(reissued, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, before.runId, 'completed');
  });
});
