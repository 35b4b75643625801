import nodemailer, { type Transporter } from 'nodemailer';
import { ApplicationFailure } from '@temporalio/activity';
import { currentActivity } from './activity-context.js';
import { Prisma, sqlTimestamp, type Db } from '../lib/db.js';
import { classifyUnavailable } from '../lib/unavailability.js';
import type { ActivityDeps } from './deps.js';
import type { RenderedEmail } from './email-templates.js';
import { FailureType } from '../processes/failures.js';

/**
 * The process's SMTP transport, pooled: its connections stay open and are reused (up to five at once, each for up to
 * 100 mails), so a mail costs its SMTP transaction, not a new connection (TCP, TLS, greeting, AUTH: about 100 ms to
 * the dev sink, often more to a relay). A connection the server closed is replaced at the next mail. `pool=false` in
 * SMTP_URL's query turns pooling off; the URL's other options (`maxConnections=…`) apply too.
 */
export function createMailer(smtpUrl: string): Transporter {
  return nodemailer.createTransport({ url: smtpUrl, pool: true });
}

/** What sending needs: the API sends replies to inbound mail with the same once-per-key guarantee. */
export type MailDeps = Pick<ActivityDeps, 'db' | 'mailer' | 'logger' | 'metrics'> & { settings: Pick<ActivityDeps['settings'], 'mailFrom'> };

export interface OutgoingEmail {
  /** Stable across activity retries, e.g. `${runId}:${requestId}:request`. */
  idempotencyKey: string;
  runId?: string;
  kind: string;
  to: string;
  email: RenderedEmail;
  /** Where a reply goes, e.g. an approval's reply-to-decide address. */
  replyTo?: string;
  /** Threads a reply under the mail it answers (its Message-ID). */
  inReplyTo?: string;
}

/** SMTP replies that mean the address itself is refused: retrying cannot help. */
function isPermanentSmtpFailure(error: unknown): boolean {
  const code = (error as { responseCode?: number }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** The Message-ID of a mail: derived from its idempotency key, so every attempt sends the same one. */
export function messageIdFor(idempotencyKey: string): string {
  return `<${idempotencyKey.replace(/[^A-Za-z0-9._-]/g, '.')}@opsflow>`;
}

/** A mail as recorded before its hand-off: the row as it was (a retry finds it, maybe sent) or as just written. */
export interface RecordedMail {
  status: string;
  createdAt: Date;
  /** When the attempt that recorded it began: a row older than that was left by an earlier attempt. */
  attemptStarted: Date;
}

/**
 * A write that lands with a mail's `sent` mark, as an UPDATE (or INSERT) statement given the mark's time: it runs in
 * the mark's own statement (a data-modifying WITH), so both are one round trip and one commit.
 */
export type AlsoWhenSent = (sentAt: Prisma.Sql) => Prisma.Sql;

/**
 * Step 1 of sendEmailOnce, in the caller's client or transaction: the mail recorded `sending` with its
 * deterministic Message-ID. An activity that writes other rows before the hand-off records the mail in the same
 * transaction, so all of it costs one commit. `attemptStarted` must not be later than the attempt's start.
 */
export async function recordMailSending(db: Prisma.TransactionClient, mail: OutgoingEmail, attemptStarted = new Date()): Promise<RecordedMail> {
  // One statement when the row is new, as createManyAndReturn with skipDuplicates writes it (INSERT … ON CONFLICT DO
  // NOTHING RETURNING) but raw: every mail makes one, and Prisma compiles each model query anew. A retry reads the
  // row it kept.
  const [created] = await db.$queryRaw<Array<Pick<RecordedMail, 'status' | 'createdAt'>>>`
    INSERT INTO "OutboundEmail" ("idempotencyKey", "runId", kind, "to", subject, status, "messageId", "createdAt")
    VALUES (${mail.idempotencyKey}, ${mail.runId ?? null}, ${mail.kind}, ${mail.to}, ${mail.email.subject}, 'sending',
      ${messageIdFor(mail.idempotencyKey)}, ${sqlTimestamp(new Date())})
    ON CONFLICT DO NOTHING
    RETURNING status, "createdAt"`;
  const row = created ?? (await db.outboundEmail.findUniqueOrThrow({ where: { idempotencyKey: mail.idempotencyKey }, select: { status: true, createdAt: true } }));
  return { ...row, attemptStarted };
}

/**
 * Sends a mail once per idempotency key, as far as SMTP allows (README, Reliability):
 * 1. the row is recorded `sending`, with the deterministic Message-ID, before the hand-off;
 * 2. after the server's "250 accepted" the row is marked `sent` at once, and when the database is briefly
 *    unavailable that mark is retried within this attempt (it is all that stands between one mail and two);
 * 3. a retry that finds `sent` sends nothing; one that finds `sending` cannot know whether the hand-off happened
 *    (the worker died or the mark never landed), and sends again with the same Message-ID. A missing approval
 *    mail stalls a run for days; a duplicate carries the same Message-ID and the same link, so mail clients thread
 *    or drop it and a second click finds the decision already made.
 */
export async function sendEmailOnce(deps: MailDeps, mail: OutgoingEmail): Promise<{ sent: boolean }> {
  return handOffRecordedMail(deps, mail, await recordMailSending(deps.db, mail));
}

/** Steps 2 and 3 of sendEmailOnce, for a mail recordMailSending recorded; `alsoWhenSent` commits with the mark. */
export async function handOffRecordedMail(deps: MailDeps, mail: OutgoingEmail, row: RecordedMail, alsoWhenSent?: AlsoWhenSent): Promise<{ sent: boolean }> {
  const messageId = messageIdFor(mail.idempotencyKey);
  const { attemptStarted } = row;
  if (row.status === 'sent') return { sent: false };
  if (row.createdAt < attemptStarted) {
    deps.logger.warn({ idempotencyKey: mail.idempotencyKey, messageId }, 'mail was handed to SMTP by an attempt that did not record it; sending again with the same Message-ID');
  }
  // An attempt past its start-to-close deadline has been given up by Temporal, which schedules a retry: handing
  // the mail to SMTP now (a worker slowed to a crawl, a slow database before this point) would send it twice.
  if (attemptDeadlinePassed(attemptStarted)) {
    throw ApplicationFailure.retryable(`Mail ${messageId} not handed to SMTP: this attempt is past its deadline and is retried`, 'EmailAttemptExpired');
  }
  try {
    await deps.mailer.sendMail({
      from: deps.settings.mailFrom,
      to: mail.to,
      subject: mail.email.subject,
      text: mail.email.text,
      html: mail.email.html,
      messageId,
      ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
      ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo, references: mail.inReplyTo } : {}),
      headers: mail.runId ? { 'X-Opsflow-Run': mail.runId } : {},
    });
  } catch (error) {
    deps.metrics?.emails.inc({ kind: mail.kind, result: 'failed' });
    if (isPermanentSmtpFailure(error)) {
      throw ApplicationFailure.nonRetryable(`Mail to ${mail.to} refused: ${(error as Error).message}`, FailureType.emailRejected);
    }
    throw ApplicationFailure.retryable(`Mail server unavailable: ${(error as Error).message}`, 'EmailUnavailable');
  }
  await markSent(deps, mail.idempotencyKey, messageId, alsoWhenSent);
  deps.metrics?.emails.inc({ kind: mail.kind, result: 'sent' });
  return { sent: true };
}

/** How long marking a handed-off mail may keep retrying when no activity deadline says otherwise. */
const MARK_SENT_BUDGET_MS = 20_000;

/** Until shortly before this attempt's start-to-close deadline: past it, Temporal retries the activity anyway. */
function markSentDeadline(): number {
  const info = currentActivity()?.info;
  if (!info) return Date.now() + MARK_SENT_BUDGET_MS;
  return info.currentAttemptScheduledTimestampMs + Math.max(0, info.startToCloseTimeoutMs - 2_000);
}

/**
 * Records the hand-off. A database outage here would otherwise fail the attempt and the retry would mail again,
 * so an unavailable database is waited for (with heartbeats) until shortly before the attempt's deadline.
 */
async function markSent(deps: MailDeps, idempotencyKey: string, messageId: string, alsoWhenSent?: AlsoWhenSent): Promise<void> {
  const deadline = markSentDeadline();
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      const sentAt = sqlTimestamp(new Date());
      const also = alsoWhenSent ? Prisma.sql`WITH also AS (${alsoWhenSent(sentAt)})` : Prisma.empty;
      await deps.db.$executeRaw`${also}
        UPDATE "OutboundEmail" SET status = 'sent', "sentAt" = ${sentAt}, "messageId" = ${messageId} WHERE "idempotencyKey" = ${idempotencyKey}`;
      return;
    } catch (error) {
      if (!classifyUnavailable(error) || Date.now() + delay > deadline) throw error;
      deps.logger.warn({ err: error, idempotencyKey }, 'mail handed to SMTP; recording it waits for the database');
      heartbeatIfInActivity();
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * Whether the current activity attempt has surely outlived its start-to-close timeout, or was cancelled (false
 * outside an activity). The attempt started no later than `since`, so `since` + the timeout is never early.
 */
function attemptDeadlinePassed(since: Date): boolean {
  const activity = currentActivity();
  if (!activity) return false;
  if (activity.cancellationSignal.aborted) return true;
  return activity.info.startToCloseTimeoutMs > 0 && Date.now() >= since.getTime() + activity.info.startToCloseTimeoutMs;
}

/** Outside an activity (a direct call in a script) there is nothing to report to. */
function heartbeatIfInActivity(): void {
  currentActivity()?.heartbeat();
}
