import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer, { type Transporter } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { DNSResolver } from 'mailauth';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { createMailer } from '../../activities/email.js';
import { createApp } from '../../api/app.js';
import type { ApiContext } from '../../api/context.js';
import type { InboundEmail } from '../../api/inbound-email.js';
import { startInboundSmtp, type InboundSmtp } from '../../api/inbound-smtp.js';
import type { CapturedMail } from '../../dev/mail-sink.js';
import { createDb, type Db } from '../../lib/db.js';
import { createLogger } from '../../lib/logger.js';
import { signWebhook } from '../../lib/webhook-signature.js';
import { approvalsOnRunPage } from '../support/console-client.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { approvalLinkIn, getJson, postJson, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const INBOUND_DOMAIN = 'replies.opsflow.test';

/** A DKIM key of example.com (the approvers' domain) whose public half the stub DNS serves. */
function newDkimKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    txt: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
  };
}

const published = newDkimKey();
/** Signs as example.com under the same selector, but DNS publishes another key: the signature fails. */
const unpublished = newDkimKey();

/** DNS for mailauth, no network: example.com's DKIM key and DMARC policy; every other name does not exist. */
const stubDns: DNSResolver = async (name, rrtype) => {
  const records: Record<string, string> = {
    'mail._domainkey.example.com': published.txt,
    '_dmarc.example.com': 'v=DMARC1; p=reject; adkim=r',
  };
  const record = rrtype === 'TXT' ? records[name.toLowerCase()] : undefined;
  if (!record) throw Object.assign(new Error(`${name} ${rrtype}: not found`), { code: 'ENOTFOUND' });
  return [[record]];
};

describe('reply by e-mail: approve, reject and refusals, through real SMTP in and out', () => {
  let stack: Stack;
  let runtimeDb: Db;
  let inboundSmtp: InboundSmtp;
  let sender: Transporter;
  let webhookApi: Server;
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const logLines: string[] = [];
  /** What the inbound side logged (JSON lines), e.g. for one run. */
  const loggedFor = (runId: string) =>
    logLines
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.runId === runId);

  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    await stack.startWorker({ config: { INBOUND_EMAIL_DOMAIN: INBOUND_DOMAIN } });
    // As api/server.ts wires it with INBOUND_EMAIL_DOMAIN and INBOUND_SMTP_PORT, on this stack's database and Temporal.
    // Its lines are read: the SMTP listener's and the webhook's name the run a reply is about.
    const logger = createLogger('test', 'info', { write: (line: string) => void logLines.push(line) });
    runtimeDb = createDb(stack.runtimeDatabaseUrl);
    const ctx: ApiContext = { db: runtimeDb, temporal: stack.temporal, config: stack.config, logger };
    const inbound: InboundEmail = {
      domain: INBOUND_DOMAIN,
      mail: { db: runtimeDb, mailer: createMailer(stack.config.SMTP_URL), logger, settings: { mailFrom: stack.config.MAIL_FROM } },
      resolver: stubDns,
    };
    inboundSmtp = await startInboundSmtp(ctx, inbound, { port: 0, host: '127.0.0.1' });
    // The API as api/server.ts builds it with INBOUND_EMAIL_WEBHOOK_SECRET: POST /inbound/email for providers' webhooks.
    const app = createApp({ ...ctx, inboundEmail: { ...inbound, webhookSecret } });
    webhookApi = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    sender = nodemailer.createTransport({ host: '127.0.0.1', port: inboundSmtp.port, secure: false, ignoreTLS: true });
  });
  afterAll(async () => {
    sender?.close();
    await inboundSmtp?.close();
    await new Promise((resolve) => (webhookApi ? webhookApi.close(resolve) : resolve(undefined)));
    await runtimeDb?.$disconnect();
    await stack?.stop();
  });

  async function startSmallCapex(title: string) {
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 2_500 }), settings: quickTiming });
    const { mail } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    const replyTo = mail.headers['reply-to']?.match(/approvals\+[A-Za-z0-9_-]{43}\.[0-9a-f]{10}@replies\.opsflow\.test/)?.[0];
    expect(replyTo, 'the approval mail carries a reply-to-decide address').toBeDefined();
    expect(mail.text).toContain('reply to this mail with "approve", "reject <reason>" or "changes <comment>"');
    return { runId: body.runId as string, mail, replyTo: replyTo! };
  }

  type ReplyOptions = { from: string; to: string; firstLine: string; quoting: CapturedMail; signWith?: string };

  /** A reply as a mail client writes it (the answer on top, the quoted mail below), DKIM-signed. */
  async function signedReply(options: ReplyOptions) {
    const messageId = `<${randomUUID()}@example.com>`;
    const raw = await new MailComposer({
      from: options.from,
      to: options.to,
      subject: `Re: ${options.quoting.subject}`,
      messageId,
      inReplyTo: options.quoting.messageId ?? undefined,
      text: `${options.firstLine}\n\nBest,\nM.\n\nOn Tue, someone wrote:\n${options.quoting.text.split('\n').map((line) => `> ${line}`).join('\n')}\n`,
    })
      .compile()
      .build();
    // mailauth 4's signer reads `signatureData` (its README), though its .d.ts names the fields at the top level.
    // signTime is fixed because, without it, mailauth reads the clock (rounded to the second) once for the header it
    // signs and again for the header it writes: a signature that straddles a half second carries a t= it did not sign
    // and fails as "bad signature" (this test failed so, now and then, under load).
    const signing = {
      signatureData: [{ signingDomain: 'example.com', selector: 'mail', privateKey: options.signWith ?? published.privateKey }],
      signTime: new Date(),
    };
    const { signatures } = await dkimSign(raw, signing as unknown as Parameters<typeof dkimSign>[1]);
    return { messageId, raw: Buffer.concat([Buffer.from(signatures), raw]) };
  }

  /** The reply, delivered by SMTP to Opsflow's listener. */
  async function reply(options: ReplyOptions) {
    const { messageId, raw } = await signedReply(options);
    await sender.sendMail({ envelope: { from: options.from, to: [options.to] }, raw });
    return messageId;
  }

  /** Opsflow's answer to one inbound message (threaded under it). */
  const answerTo = (to: string, messageId: string) =>
    stack.mail.waitFor((m) => m.to.includes(to) && (m.headers['in-reply-to'] ?? '').includes(messageId), { timeoutMs: 20_000 });

  async function decidedAudit(runId: string) {
    return stack.db.auditEntry.findMany({ where: { runId, action: 'approval.decided' } });
  }

  async function approvalState(runId: string) {
    const { body } = await getJson(`${stack.apiUrl}/runs/${runId}`);
    return body.approvals[0] as { state: string; decision?: string };
  }

  let approvedRun: { runId: string; mail: CapturedMail; replyTo: string };

  it('a reply from another address decides nothing, and its sender is told why', async () => {
    approvedRun = await startSmallCapex('Reply from someone else');
    const messageId = await reply({ from: approvers.financeDirector, to: approvedRun.replyTo, firstLine: 'approve', quoting: approvedRun.mail });
    const answer = await answerTo(approvers.financeDirector, messageId);
    expect(answer.text).toMatch(/Nothing was decided: only the request's approver can decide it by reply/);
    expect((await approvalState(approvedRun.runId)).state).toBe('pending');
    expect(await decidedAudit(approvedRun.runId)).toHaveLength(0);
    // The listener's line about it is found by the run it is about.
    const refusal = await waitUntil(async () => loggedFor(approvedRun.runId).find((l) => l.msg === 'inbound reply decided nothing'), 'the line about the refused reply');
    expect(refusal).toMatchObject({ process: 'capex', step: 'line-manager' });
  });

  it('a reply whose DKIM signature fails decides nothing, and its sender is told why', async () => {
    const messageId = await reply({ from: approvers.lineManager, to: approvedRun.replyTo, firstLine: 'approve', quoting: approvedRun.mail, signWith: unpublished.privateKey });
    const answer = await answerTo(approvers.lineManager, messageId);
    expect(answer.text).toMatch(/Nothing was decided: your mail could not be verified as sent by morgan\.lee@example\.com: it carries no valid DKIM signature/);
    expect((await approvalState(approvedRun.runId)).state).toBe('pending');
    expect(await decidedAudit(approvedRun.runId)).toHaveLength(0);
    // The operator's line says what the checks found (the sender is told only the outcome).
    const refusal = await waitUntil(async () => loggedFor(approvedRun.runId).find((l) => l.msg === 'inbound reply decided nothing' && l.checks), 'the refusal line with its checks');
    expect((refusal.checks as { dkim: unknown[] }).dkim).toEqual([expect.objectContaining({ domain: 'example.com', result: 'fail' })]);
  });

  it('the approver approves by replying "approve"; the audit entry says email-reply and a confirmation follows', async () => {
    const messageId = await reply({ from: approvers.lineManager, to: approvedRun.replyTo, firstLine: 'Approve', quoting: approvedRun.mail });
    const confirmation = await answerTo(approvers.lineManager, messageId);
    expect(confirmation.text).toContain('You approved');
    const run = await waitForRunStatus(stack, approvedRun.runId, 'completed');
    const [entry, ...more] = await decidedAudit(approvedRun.runId);
    expect(more).toHaveLength(0);
    expect(entry?.actor).toBe(approvers.lineManager);
    expect(entry?.details).toMatchObject({ decision: 'approved', channel: 'email-reply' });
    expect(run.approvals.map((a) => a.channel)).toEqual(['email-reply']);
    expect((await approvalsOnRunPage(stack, approvedRun.runId)).map((row) => row.Via)).toEqual(['e-mail reply']);
  });

  it('a reply to an already decided request decides nothing and says who decided', async () => {
    const messageId = await reply({ from: approvers.lineManager, to: approvedRun.replyTo, firstLine: 'reject changed my mind', quoting: approvedRun.mail });
    const answer = await answerTo(approvers.lineManager, messageId);
    expect(answer.text).toMatch(/Nothing was decided: this request was already approved by morgan\.lee@example\.com/);
    expect((await approvalState(approvedRun.runId)).decision).toBe('approved');
    expect(await decidedAudit(approvedRun.runId)).toHaveLength(1);
  });

  it('the approver rejects with a reason by replying "reject <reason>"', async () => {
    const { runId, mail, replyTo } = await startSmallCapex('Reply reject');
    const messageId = await reply({ from: approvers.lineManager, to: replyTo, firstLine: 'reject: over budget for Q3', quoting: mail });
    const confirmation = await answerTo(approvers.lineManager, messageId);
    expect(confirmation.text).toContain('You rejected');
    expect(confirmation.text).toContain('Your comment: over budget for Q3');
    await waitForRunStatus(stack, runId, 'rejected');
    const [entry] = await decidedAudit(runId);
    expect(entry?.details).toMatchObject({ decision: 'rejected', comment: 'over budget for Q3', channel: 'email-reply' });
  });

  it('the approver asks for changes by replying "changes <comment>": the requester gets the edit link with the comment', async () => {
    const { runId, mail, replyTo } = await startSmallCapex('Reply changes');
    const bare = await reply({ from: approvers.lineManager, to: replyTo, firstLine: 'changes', quoting: mail });
    expect((await answerTo(approvers.lineManager, bare)).text).toContain('Nothing was decided: a rejection or a request for changes needs a reason on the same line');
    expect(await decidedAudit(runId)).toHaveLength(0);

    const messageId = await reply({ from: approvers.lineManager, to: replyTo, firstLine: 'changes Please add the second quote', quoting: mail });
    const confirmation = await answerTo(approvers.lineManager, messageId);
    expect(confirmation.text).toContain('You asked for changes to "Reply changes" (Line manager approval); Alex Rivera gets a link to edit and resubmit it.');
    expect(confirmation.text).toContain('Your comment: Please add the second quote');
    const edit = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && m.subject.startsWith('Changes requested: Reply changes'));
    expect(edit.text).toContain('Morgan Lee');
    expect(edit.text).toContain('Please add the second quote');
    expect((await fetch(approvalLinkIn(edit))).status).toBe(200);
    const [entry, ...more] = await decidedAudit(runId);
    expect(more).toHaveLength(0);
    expect(entry).toMatchObject({ actor: approvers.lineManager, details: { decision: 'changes_requested', comment: 'Please add the second quote', channel: 'email-reply' } });
    expect((await approvalState(runId)).decision).toBe('changes_requested');
  });

  it('a provider posts the raw reply to POST /inbound/email: unsigned is refused, signed decides like SMTP', async () => {
    const { runId, mail, replyTo } = await startSmallCapex('Reply via webhook');
    const { raw, messageId } = await signedReply({ from: approvers.lineManager, to: replyTo, firstLine: 'approve', quoting: mail });
    const url = `http://127.0.0.1:${(webhookApi.address() as AddressInfo).port}/inbound/email`;
    const post = (headers: Record<string, string>) => fetch(url, { method: 'POST', headers: { 'content-type': 'message/rfc822', ...headers }, body: raw });
    const timestamp = Math.floor(Date.now() / 1000);
    const forged = await post({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(`whsec_${randomBytes(24).toString('base64')}`, 'msg_1', timestamp, raw.toString('utf8')) });
    expect(forged.status).toBe(401);
    expect((await approvalState(runId)).state).toBe('pending');

    const signed = await post({ 'webhook-id': 'msg_2', 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(webhookSecret, 'msg_2', timestamp, raw.toString('utf8')) });
    expect(signed.status).toBe(200);
    expect(await signed.json()).toMatchObject({ kind: 'decided', decision: 'approved' });
    const requestLine = await waitUntil(async () => loggedFor(runId).find((l) => /^POST \/inbound\/email 200 \d+ms$/.test(String(l.msg))), 'the request line of the reply');
    expect(requestLine).toMatchObject({ process: 'capex', step: 'line-manager' });
    expect((await answerTo(approvers.lineManager, messageId)).text).toContain('You approved');
    await waitForRunStatus(stack, runId, 'completed');
    expect((await decidedAudit(runId))[0]?.details).toMatchObject({ channel: 'email-reply' });
  });

  it('a reply to a mail of an older version of the request is stale: nothing decided, the answer says what changed', async () => {
    const { runId, mail, replyTo } = await startSmallCapex('Reply to an older version');
    // A version the run had before (as an edit leaves behind), with another amount: a reply addressed with its
    // prefix is a reply to the mail that showed it.
    const [current] = await stack.db.runFactsVersion.findMany({ where: { runId } });
    const olderFacts = (current!.facts as Array<{ label: string; value: string }>).map((f) => (f.label === 'Amount' ? { ...f, value: '1,000.00 EUR' } : f));
    const olderVersion = 'abcdef0123'.padEnd(64, '0');
    await stack.db.runFactsVersion.create({ data: { runId, version: olderVersion, facts: olderFacts, input: current!.input as object } });
    const olderAddress = replyTo.replace(/\.[0-9a-f]{10}@/, `.${olderVersion.slice(0, 10)}@`);
    const messageId = await reply({ from: approvers.lineManager, to: olderAddress, firstLine: 'approve', quoting: mail });
    const answer = await answerTo(approvers.lineManager, messageId);
    // Should it be refused for another reason, the listener's line about the refusal says why.
    const refusals = () => JSON.stringify(loggedFor(runId).filter((line) => line.msg === 'inbound reply decided nothing'));
    expect(answer.text, refusals()).toContain('Nothing was decided: the request changed after the mail you replied to.');
    expect(answer.text).toContain('Amount: 1,000.00 EUR → 2,500.00 EUR');
    expect((await approvalState(runId)).state).toBe('pending');
    expect(await decidedAudit(runId)).toHaveLength(0);
  });
});
