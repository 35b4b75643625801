import { createHash } from 'node:crypto';
import EmailReplyParser from 'email-reply-parser';
import { authenticate, type DNSResolver } from 'mailauth';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { noticeEmail } from '../activities/email-templates.js';
import { sendEmailOnce, type MailDeps } from '../activities/email.js';
import type { ApprovalRequest, Run } from '../lib/generated/prisma/client.js';
import { parseReplyAddress, type ParsedReplyAddress } from '../lib/reply-address.js';
import { hashToken } from '../lib/tokens.js';
import type { Decision } from '../processes/approval-messages.js';
import { diffFacts, type Fact } from '../processes/facts.js';
import { factsOf, findProcess } from '../processes/index.js';
import { addLogFields } from '../lib/log-context.js';
import { decideByLink, findApprovalWithRun, refusalFor, runLogFields, type DecideOutcome, type LinkRefusal } from './approval-service.js';
import type { ApiContext } from './context.js';

/** Reply by e-mail (README, Approvals): what the SMTP listener and POST /inbound/email share. */
export interface InboundEmail {
  /** INBOUND_EMAIL_DOMAIN: the domain of the reply-to-decide addresses. */
  domain: string;
  /** Outbound SMTP for the answer to every reply (a confirmation or why nothing was decided). */
  mail: MailDeps;
  /** DNS for DKIM keys and DMARC policies; the system resolver when absent (tests pass a stub). */
  resolver?: DNSResolver;
  /** Standard Webhooks secret of POST /inbound/email; absent = that route refuses everything. */
  webhookSecret?: string;
}

/** Where the mail came from, as the SMTP session saw it (the webhook knows only the message). */
export interface InboundEnvelope {
  recipients: string[];
  remoteAddress?: string;
  helo?: string;
  mailFrom?: string;
}

export type InboundOutcome =
  | { kind: 'ignored'; why: string }
  | { kind: 'refused'; why: string; requestId?: string }
  | { kind: 'decided'; requestId: string; decision: Decision }
  | { kind: 'pending'; requestId: string };

type Command = { decision: Decision; comment: string | null };

/** What a reply's first line may say: `approve`, `reject <reason>`, `changes <comment>` (and their obvious forms). */
const COMMAND_WORDS: Record<string, Decision> = {
  approve: 'approved',
  approved: 'approved',
  reject: 'rejected',
  rejected: 'rejected',
  changes: 'changes_requested',
  change: 'changes_requested',
};

/** The first non-empty line of what the approver wrote, after quoted text and signatures are stripped. */
export function readCommand(text: string): Command | undefined {
  const visible = new EmailReplyParser().read(text.replace(/\r\n/g, '\n')).getVisibleText();
  const first = visible.split('\n').map((line) => line.trim()).find(Boolean);
  const match = first?.match(/^([a-z]+)\b[\s:,.!-]*(.*)$/i);
  const decision = match ? COMMAND_WORDS[match[1]!.toLowerCase()] : undefined;
  if (!match || !decision) return undefined;
  const comment = match[2]!.trim();
  return { decision, comment: comment || null };
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value.map((v) => v.address ?? '')).filter(Boolean);
}

/** The envelope's recipients first (what the MX was asked to deliver), then the headers a provider forwards. */
function replyAddressOf(inbound: InboundEmail, parsed: ParsedMail, envelope: InboundEnvelope): ParsedReplyAddress | undefined {
  const headerAddresses = ['delivered-to', 'x-original-to'].flatMap((name) => {
    const value = parsed.headers.get(name);
    return typeof value === 'string' ? [value.trim()] : [];
  });
  const candidates = [...envelope.recipients, ...addressesOf(parsed.to), ...addressesOf(parsed.cc), ...headerAddresses];
  for (const address of candidates) {
    const parsedAddress = parseReplyAddress(address, inbound.domain);
    if (parsedAddress) return parsedAddress;
  }
  return undefined;
}

/**
 * DKIM that passes for the From domain and DMARC that passes on that DKIM alignment (not SPF: a forwarded reply
 * breaks SPF, and SPF says only which servers may send for a domain, not who wrote the mail). Undefined when it
 * holds; otherwise why not, in words for the sender.
 */
async function authenticationProblem(
  inbound: InboundEmail,
  raw: Buffer,
  envelope: InboundEnvelope,
  fromDomain: string,
): Promise<{ why: string; checks: Record<string, unknown> } | undefined> {
  const result = await authenticate(raw, {
    ip: envelope.remoteAddress ?? '127.0.0.1',
    helo: envelope.helo,
    sender: envelope.mailFrom,
    mta: inbound.domain,
    resolver: inbound.resolver,
    disableArc: true,
    disableBimi: true,
  });
  // What the operator's log line says about a refusal (the sender is told only the outcome).
  const checks = {
    dkim: result.dkim.results.map((r) => ({ domain: r.signingDomain, result: r.status.result, comment: r.status.comment })),
    dmarc: result.dmarc ? { result: result.dmarc.status.result, comment: result.dmarc.status.comment } : undefined,
  };
  const dkimPass = result.dkim.results.some((r) => r.status.result === 'pass' && r.signingDomain.toLowerCase() === fromDomain);
  if (!dkimPass) return { why: `it carries no valid DKIM signature of ${fromDomain}`, checks };
  const dmarc = result.dmarc;
  if (!dmarc || dmarc.status.result !== 'pass' || !dmarc.alignment.dkim.result) return { why: `it does not pass DMARC for ${fromDomain} on an aligned DKIM signature`, checks };
  return undefined;
}

/** Why a known request is not open, for the approver. */
function refusalText(refusal: LinkRefusal): string {
  switch (refusal.kind) {
    case 'not_found':
      return 'the address you replied to belongs to no request.';
    case 'already_decided': {
      const { approval } = refusal;
      const decided = approval.decision ? `${approval.decision.replace('_', ' ')} by ${approval.decidedBy ?? approval.approverName}` : 'answered';
      return `this request was already ${decided}${approval.usedAt ? ` at ${approval.usedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''}.`;
    }
    case 'expired':
      return 'this request expired.';
    case 'revoked':
      return `this request is no longer open (${refusal.approval.revokedReason ?? 'revoked'}).`;
    case 'closed':
      return `the run "${refusal.run.title}" is ${refusal.run.status}.`;
  }
}

/** What changed between the version the replied-to mail showed and the request now, one line each. */
async function changesSince(ctx: ApiContext, run: Run, seenFacts: Fact[] | undefined): Promise<string[]> {
  const process = findProcess(run.process);
  if (!process || !seenFacts) return [];
  const { facts } = factsOf(process, run.input);
  return diffFacts(seenFacts, facts).map((c) => `${c.label}: ${c.before ?? '(not shown)'} → ${c.after ?? '(removed)'}`);
}

function outcomeText(outcome: DecideOutcome): string | undefined {
  switch (outcome.kind) {
    case 'decided':
      return undefined;
    case 'pending':
      return undefined;
    case 'reason_required':
      return 'a rejection or a request for changes needs a reason on the same line, e.g. "reject over budget".';
    case 'stale':
      return 'the request changed after the mail you replied to.';
    case 'separation_of_duties':
      return outcome.message;
    case 'unavailable':
      return 'Opsflow could not reach the run just now. Please try again in a few minutes, or use the link in the mail.';
    default:
      return refusalText(outcome);
  }
}

interface Answer {
  to: string;
  messageId: string;
  runId?: string;
  subject: string;
  paragraphs: string[];
}

/** One answer per inbound Message-ID, however often the mail is delivered (sendEmailOnce's idempotency key). */
async function answer(inbound: InboundEmail, a: Answer): Promise<void> {
  const key = createHash('sha256').update(a.messageId).digest('hex').slice(0, 32);
  await sendEmailOnce(inbound.mail, {
    idempotencyKey: `inbound-email:${key}`,
    runId: a.runId,
    kind: 'approval.reply-answer',
    to: a.to,
    inReplyTo: a.messageId,
    email: noticeEmail({ subject: a.subject, greeting: 'Hello', paragraphs: a.paragraphs }),
  });
}

/** Mail that must not be answered: auto-replies, bounces and list traffic would otherwise loop with ours. */
function isAutomatic(parsed: ParsedMail): boolean {
  const autoSubmitted = parsed.headers.get('auto-submitted');
  const precedence = parsed.headers.get('precedence');
  return (typeof autoSubmitted === 'string' && autoSubmitted.toLowerCase() !== 'no') || (typeof precedence === 'string' && /bulk|junk|list/i.test(precedence));
}

/**
 * A reply to an approval mail: decides through the same path as the link (decideByLink: the workflow's Update,
 * its validator, separation of duties, the version hash, the audit entry with channel `email-reply`) when the
 * address is a request's, the mail is DKIM/DMARC-authenticated for the sender's domain, the sender is the
 * request's approver, the request is open and the first line is a command. Anything else decides nothing and the
 * sender is told why.
 */
export async function handleInboundEmail(ctx: ApiContext, inbound: InboundEmail, raw: Buffer, envelope: InboundEnvelope): Promise<InboundOutcome> {
  const parsed = await simpleParser(raw);
  const from = addressesOf(parsed.from)[0]?.toLowerCase();
  if (!from || isAutomatic(parsed)) return { kind: 'ignored', why: from ? 'automatic mail' : 'no From address' };
  const messageId = parsed.messageId ?? `<${createHash('sha256').update(raw).digest('hex')}@inbound>`;
  const subject = `Re: ${parsed.subject ?? 'your reply'}`.replace(/^Re: Re: /i, 'Re: ');
  const refuse = async (why: string, approval?: ApprovalRequest, extra: string[] = [], checks?: Record<string, unknown>): Promise<InboundOutcome> => {
    await answer(inbound, { to: from, messageId, runId: approval?.runId, subject, paragraphs: [`Nothing was decided: ${why}`, ...extra] });
    ctx.logger.info({ approvalRequestId: approval?.id, why, ...(checks ? { checks } : {}) }, 'inbound reply decided nothing');
    return { kind: 'refused', why, requestId: approval?.id };
  };

  const address = replyAddressOf(inbound, parsed, envelope);
  if (!address) return refuse('the address you wrote to belongs to no approval request.');
  const found = await findApprovalWithRun(ctx.db, { tokenHash: hashToken(address.token) });
  if (!found || found.kind !== 'decision') return refuse('the address you wrote to belongs to no approval request.');
  const { run, ...approval } = found;
  addLogFields(runLogFields(run, approval));

  // Who wrote it is established before anything about the request is said or done.
  const fromDomain = from.slice(from.lastIndexOf('@') + 1);
  const unauthenticated = await authenticationProblem(inbound, raw, envelope, fromDomain);
  if (unauthenticated) return refuse(`your mail could not be verified as sent by ${from}: ${unauthenticated.why}.`, approval, [], unauthenticated.checks);
  if (from !== approval.approverEmail.toLowerCase()) return refuse(`only the request's approver can decide it by reply, and ${from} is not.`, approval);

  const closed = refusalFor(approval, run, new Date());
  if (closed) return refuse(refusalText(closed), approval);
  const command = readCommand(parsed.text ?? '');
  if (!command) return refuse('the first line of your reply must be "approve", "reject <reason>" or "changes <comment>".', approval);

  const seen = await ctx.db.runFactsVersion.findMany({ where: { runId: run.id, version: { startsWith: address.versionPrefix } } });
  if (seen.length !== 1) return refuse('the mail you replied to shows a version of the request Opsflow does not know.', approval);
  const version = seen[0]!;
  const outcome = await decideByLink(ctx, approval, { decision: command.decision, comment: command.comment, version: version.version, ip: envelope.remoteAddress, channel: 'email-reply' });
  if (outcome.kind === 'decided' || outcome.kind === 'pending') {
    const said = { approved: 'approved', rejected: 'rejected', changes_requested: 'changes requested' }[command.decision];
    const decided =
      command.decision === 'changes_requested'
        ? `You asked for changes to "${run.title}" (${approval.stepTitle}); ${run.requesterName} gets a link to edit and resubmit it.`
        : `You ${said} ${approval.stepTitle} for "${run.title}".`;
    const paragraphs = [
      outcome.kind === 'decided' ? decided : `Your decision (${said}) on ${approval.stepTitle} for "${run.title}" was sent; the run will confirm it shortly.`,
      ...(command.comment ? [`Your comment: ${command.comment}`] : []),
    ];
    await answer(inbound, { to: from, messageId, runId: run.id, subject, paragraphs });
    return outcome.kind === 'decided' ? { kind: 'decided', requestId: approval.id, decision: outcome.result.decision } : { kind: 'pending', requestId: approval.id };
  }
  const extra = outcome.kind === 'stale' ? await changesSince(ctx, run, version.facts as unknown as Fact[]) : [];
  const changed = extra.length ? ['What changed (old → new):', ...extra, 'Reply to the newest mail about this request, or use its link.'] : [];
  return refuse(outcomeText(outcome) ?? 'the run did not take the decision.', approval, changed);
}
