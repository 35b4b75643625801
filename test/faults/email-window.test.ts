import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageIdFor, sendEmailOnce } from '../../activities/email.js';
import { createDb, type Db } from '../../lib/db.js';
import { activityDeps } from '../support/activity-deps.js';
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
});
