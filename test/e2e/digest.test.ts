import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapturedMail } from '../../dev/mail-sink.js';
import { ensureDigestSchedule } from '../../lib/digest-schedule.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('the approvers\' daily digest, driven by a Temporal Schedule', () => {
  let stack: Stack;
  const scheduleId = `approver-digest-test-${randomUUID()}`;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.temporal.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    await stack?.stop();
  });

  const digests = () => stack.mail.messages().filter((m) => / waits? for you$/.test(m.subject));
  const linksIn = (mail: CapturedMail) => [...mail.text.matchAll(/https?:\/\/\S+\/approvals\/[A-Za-z0-9_-]{43}/g)].map((m) => m[0]);

  /** Triggers the schedule and waits for the digest run it started to finish. */
  const runDigest = async (runsBefore: number) => {
    const schedule = stack.temporal.schedule.getHandle(scheduleId);
    await schedule.trigger();
    const action = await waitUntil(async () => {
      const { info } = await schedule.describe();
      return info.numActionsTaken > runsBefore && info.recentActions.at(-1);
    }, 'the schedule to start a digest run');
    const run = stack.temporal.workflow.getHandle(action.action.workflow.workflowId, action.action.workflow.firstExecutionRunId);
    return (await run.result()) as { sent: number; due: number };
  };

  it('mails each approver with open requests one line per request, nobody else, once per local day', async () => {
    // Everyone's digest hour has passed (0), in their own time zones; Casey has nothing open.
    await stack.db.person.updateMany({ data: { digestHour: 0 } });
    const patch = (email: string, body: unknown) =>
      fetch(`${stack.apiUrl}/directory/people/${email}`, { method: 'PATCH', headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await patch(approvers.financeDirector, { timeZone: 'Tokyo', digestHour: 24 });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { error: { details: { issues: Array<{ path: string }> } } }).error.details.issues.map((i) => i.path).sort()).toEqual(['digestHour', 'timeZone']);
    expect(await (await patch(approvers.financeDirector, { timeZone: 'Asia/Tokyo' })).json()).toMatchObject({ timeZone: 'Asia/Tokyo', digestHour: 0 });
    // Dana opted out of digests.
    expect((await patch(approvers.coo, { digestHour: null })).status).toBe(200);

    for (const title of ['Digest drill', 'Digest saw']) {
      await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings: quickTiming });
      await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    }
    await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Digest press', amount: 40_000 }), settings: quickTiming });
    await submitDecision((await waitForApprovalMail(stack, approvers.lineManager, { subject: /Digest press/ })).link, 'approve');
    await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Digest press/ });

    expect(await ensureDigestSchedule(stack.temporal, stack.taskQueue, scheduleId)).toBe('created');
    expect(await ensureDigestSchedule(stack.temporal, stack.taskQueue, scheduleId)).toBe('exists');
    expect(await runDigest(0)).toEqual({ sent: 2, due: 2 });

    const sent = digests();
    expect(sent.map((m) => m.to).sort()).toEqual([[approvers.lineManager], [approvers.financeDirector]].sort());
    const morgans = sent.find((m) => m.to.includes(approvers.lineManager))!;
    expect(morgans.subject).toBe('2 approval requests wait for you');
    expect(morgans.text).toMatch(/Digest drill[\s\S]*Digest saw/);
    expect(morgans.text).not.toContain('Digest press');
    expect(morgans.text).toContain(`Review them all at once: ${stack.apiUrl}/me`);
    const priyas = sent.find((m) => m.to.includes(approvers.financeDirector))!;
    expect(priyas.subject).toBe('1 approval request waits for you');
    // Each line's link is the request's own link: it opens the request.
    for (const link of [...linksIn(morgans), ...linksIn(priyas)]) {
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/Line manager approval|Finance director approval/);
    }
    expect(linksIn(morgans)).toHaveLength(2);

    // The next hour's run (here: another trigger the same day) sends nothing new.
    expect(await runDigest(1)).toEqual({ sent: 0, due: 2 });
    expect(digests()).toHaveLength(2);
  });
});
