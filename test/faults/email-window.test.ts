import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createApprovalActivities } from '../../activities/approvals.js';
import { messageIdFor, sendEmailOnce } from '../../activities/email.js';
import { createDb, type Db } from '../../lib/db.js';
import { activityDeps } from '../support/activity-deps.js';
import { approvers, capexInput } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * The window between the SMTP hand-off and recording it (activities/email.ts, README Reliability): a database that
 * fails right after the mail server accepted the mail must not cause a second mail; a `sending` record left by an
 * attempt that died after the hand-off is sent again with the same Message-ID (the documented exception).
 */
let stack: Stack;
let unreachableDb: Db;

beforeAll(async () => {
  stack = await startStack({ worker: 'none' });
  unreachableDb = createDb('postgresql://u:p@127.0.0.1:1/x');
});
afterAll(async () => {
  await unreachableDb.$disconnect();
  await stack?.stop();
});

/** A real "database unreachable" error (P1001 from Prisma over adapter-pg), as the worker sees during an outage. */
async function databaseDownError(): Promise<unknown> {
  try {
    await unreachableDb.outboundEmail.findFirst();
  } catch (error) {
    return error;
  }
  throw new Error('expected the unreachable database to fail');
}

/** The owner's client, except that the first `failures` writes of the `sent` mark meet a database outage. */
function dbFailingTheSentMark(failures: number): Db {
  let left = failures;
  const outboundEmail = new Proxy(stack.db.outboundEmail, {
    get(target, property, receiver) {
      if (property !== 'update') return Reflect.get(target, property, receiver);
      return async (args: Parameters<Db['outboundEmail']['update']>[0]) => {
        if (left > 0) {
          left--;
          throw await databaseDownError();
        }
        return target.update(args);
      };
    },
  });
  return new Proxy(stack.db, { get: (target, property, receiver) => (property === 'outboundEmail' ? outboundEmail : Reflect.get(target, property, receiver)) });
}

/** The owner's client, except that the first `failures` batch transactions (the sent mark with what commits with it) meet a database outage. */
function dbFailingBatchTransactions(failures: number): Db {
  let left = failures;
  const $transaction = async (arg: unknown, options?: unknown) => {
    if (Array.isArray(arg) && left > 0) {
      left--;
      throw await databaseDownError();
    }
    return (stack.db.$transaction as (a: unknown, o?: unknown) => Promise<unknown>)(arg, options);
  };
  return new Proxy(stack.db, { get: (target, property, receiver) => (property === '$transaction' ? $transaction : Reflect.get(target, property, receiver)) });
}

const mail = (key: string) => ({
  idempotencyKey: key,
  kind: 'approval_request',
  to: 'morgan.lee@example.com',
  email: { subject: `Approval needed (${key})`, text: 'Please decide', html: '<p>Please decide</p>' },
});

describe('the duplicate-mail window', () => {
  it('a database outage right after the SMTP hand-off is waited out: one mail, recorded sent', async () => {
    const key = `window-db-${Date.now()}`;
    const result = await sendEmailOnce(activityDeps(stack, dbFailingTheSentMark(3)), mail(key));
    expect(result).toEqual({ sent: true });
    // A retry of the activity (what Temporal would run had the attempt failed) finds it sent.
    expect(await sendEmailOnce(activityDeps(stack), mail(key))).toEqual({ sent: false });
    const row = await stack.db.outboundEmail.findUniqueOrThrow({ where: { idempotencyKey: key } });
    expect(row).toMatchObject({ status: 'sent', messageId: messageIdFor(key) });
    expect(stack.mail.messages().filter((m) => m.subject === `Approval needed (${key})`)).toHaveLength(1);
  });

  it('the row says sending with its Message-ID before the hand-off; a retry after a crash there resends the same Message-ID', async () => {
    const key = `window-crash-${Date.now()}`;
    // The attempt that "crashed": recorded, handed off, never marked.
    let recordedBeforeHandOff: unknown;
    const crashed = activityDeps(stack);
    const realMailer = crashed.mailer;
    crashed.mailer = {
      sendMail: async (message: Parameters<typeof realMailer.sendMail>[0]) => {
        recordedBeforeHandOff = await stack.db.outboundEmail.findUnique({ where: { idempotencyKey: key } });
        await realMailer.sendMail(message);
        throw Object.assign(new Error('worker killed after the hand-off'), { killed: true });
      },
    } as unknown as typeof realMailer;
    await expect(sendEmailOnce(crashed, mail(key))).rejects.toThrow();
    expect(recordedBeforeHandOff).toMatchObject({ status: 'sending', messageId: messageIdFor(key) });

    expect(await sendEmailOnce(activityDeps(stack), mail(key))).toEqual({ sent: true });
    const copies = stack.mail.messages().filter((m) => m.subject === `Approval needed (${key})`);
    expect(copies).toHaveLength(2);
    expect(new Set(copies.map((m) => m.messageId))).toEqual(new Set([messageIdFor(key)]));
  });

  it("an approval request's mail: its row, audit entry and sending record are committed before the hand-off; an outage at the sent mark is waited out with emailSentAt", async () => {
    const runId = `capex-${randomUUID()}`;
    const input = capexInput({ title: `Window ${runId}` });
    await stack.db.run.create({
      data: { id: runId, process: 'capex', status: 'running', title: input.title, requesterName: input.requester.name, requesterEmail: input.requester.email, input, settings: {} },
    });
    const requestId = `${runId}:line-manager:1`;
    const deps = activityDeps(stack, dbFailingBatchTransactions(3));
    const realMailer = deps.mailer;
    let atHandOff: unknown[] = [];
    deps.mailer = {
      sendMail: async (message: Parameters<typeof realMailer.sendMail>[0]) => {
        atHandOff = await Promise.all([
          stack.db.approvalRequest.findUnique({ where: { id: requestId }, select: { id: true } }),
          stack.db.auditEntry.count({ where: { eventKey: `${requestId}:requested` } }),
          stack.db.outboundEmail.findUnique({ where: { idempotencyKey: `${requestId}:request` }, select: { status: true } }),
        ]);
        return realMailer.sendMail(message);
      },
    } as unknown as typeof realMailer;

    await createApprovalActivities(deps).openApprovalRequest({
      requestId,
      runId,
      stepId: 'line-manager',
      stepTitle: 'Line manager approval',
      seat: 0,
      round: 1,
      approver: { email: approvers.lineManager, name: 'Morgan Lee', role: 'manager-of-requester' },
      expiresAt: Date.now() + 3_600_000,
      currentStep: 'line-manager',
    });

    expect(atHandOff).toEqual([{ id: requestId }, 1, { status: 'sending' }]);
    expect(stack.mail.messages().filter((m) => m.subject.includes(input.title))).toHaveLength(1);
    expect(await stack.db.outboundEmail.findUniqueOrThrow({ where: { idempotencyKey: `${requestId}:request` } })).toMatchObject({ status: 'sent' });
    expect((await stack.db.approvalRequest.findUniqueOrThrow({ where: { id: requestId } })).emailSentAt).toBeInstanceOf(Date);
    expect(await stack.db.run.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ currentStep: 'line-manager' });
  });
});
