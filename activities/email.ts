import nodemailer, { type Transporter } from 'nodemailer';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps.js';
import type { RenderedEmail } from './email-templates.js';
import { FailureType } from '../processes/failures.js';

export function createMailer(smtpUrl: string): Transporter {
  return nodemailer.createTransport(smtpUrl);
}

export interface OutgoingEmail {
  /** Stable across activity retries, e.g. `${runId}:${requestId}:request`. */
  idempotencyKey: string;
  runId?: string;
  kind: string;
  to: string;
  email: RenderedEmail;
}

/** SMTP replies that mean the address itself is refused: retrying cannot help. */
function isPermanentSmtpFailure(error: unknown): boolean {
  const code = (error as { responseCode?: number }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/**
 * Sends a mail at most once per idempotency key: the row is written before sending and marked sent after, so a
 * retried activity skips what already left. (A crash between the SMTP hand-off and the mark can still resend.)
 */
export async function sendEmailOnce(deps: ActivityDeps, mail: OutgoingEmail): Promise<{ sent: boolean }> {
  const { db } = deps;
  // One statement: the row as it was (a retry finds it, maybe sent) or as just written (status sending).
  const row = await db.outboundEmail.upsert({
    where: { idempotencyKey: mail.idempotencyKey },
    create: {
      idempotencyKey: mail.idempotencyKey,
      runId: mail.runId ?? null,
      kind: mail.kind,
      to: mail.to,
      subject: mail.email.subject,
      status: 'sending',
    },
    update: {},
    select: { status: true },
  });
  if (row.status === 'sent') return { sent: false };
  const messageId = `<${mail.idempotencyKey.replace(/[^A-Za-z0-9._-]/g, '.')}@opsflow>`;
  try {
    await deps.mailer.sendMail({
      from: deps.settings.mailFrom,
      to: mail.to,
      subject: mail.email.subject,
      text: mail.email.text,
      html: mail.email.html,
      messageId,
      headers: mail.runId ? { 'X-Opsflow-Run': mail.runId } : {},
    });
  } catch (error) {
    deps.metrics?.emails.inc({ kind: mail.kind, result: 'failed' });
    if (isPermanentSmtpFailure(error)) {
      throw ApplicationFailure.nonRetryable(`Mail to ${mail.to} refused: ${(error as Error).message}`, FailureType.emailRejected);
    }
    throw ApplicationFailure.retryable(`Mail server unavailable: ${(error as Error).message}`, 'EmailUnavailable');
  }
  await db.outboundEmail.update({
    where: { idempotencyKey: mail.idempotencyKey },
    data: { status: 'sent', sentAt: new Date(), messageId },
  });
  deps.metrics?.emails.inc({ kind: mail.kind, result: 'sent' });
  return { sent: true };
}
