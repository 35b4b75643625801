import express, { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { recordDelegation, removeDelegation } from '../../lib/delegations.js';
import { AppError } from '../../lib/errors.js';
import type { ApprovalRequest, Run } from '../../lib/generated/prisma/client.js';
import {
  consumeSignInLink,
  findPersonSession,
  inspectSignInLink,
  openPersonSession,
  PERSON_SESSION_TTL_MS,
  requestSignInLink,
  revokePersonSession,
  type PersonSession,
} from '../../lib/person-sessions.js';
import { factsAtVersion } from '../../lib/run-facts.js';
import { diffFacts } from '../../processes/facts.js';
import { factsOf, findProcess } from '../../processes/index.js';
import { decideByLink, findApprovalWithRun, refusalFor, refusalText } from '../approval-service.js';
import { cookieOptions, crossOriginRefusal, CSRF_FIELD, formTokenMatches, readCookie, sendConsolePage } from '../console-security.js';
import type { ApiContext } from '../context.js';
import { bulkResultPage, confirmSignInPage, inboxPage, linkSentPage, signInPage, signInRefusedPage, type BulkOutcome, type InboxPageProps } from '../pages/me.js';
import { html, layout } from '../pages/html.js';
import { decisionChannelsOf } from '../run-views.js';
import { openTasksFor } from '../task-service.js';
import { mountMyTaskPages } from './me-tasks.js';

export const ME_COOKIE = 'opsflow_me';
const DECIDED_WINDOW_MS = 30 * 86_400_000;

const form = express.urlencoded({ extended: false, limit: '50kb' });
const signInSchema = z.object({ email: z.email('Enter your e-mail address, like name@example.com').max(320) });
const localDateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'Enter a date and time')
  .transform((value) => new Date(`${value.length === 16 ? `${value}:00` : value}Z`));
const absenceSchema = z
  .object({
    delegateEmail: z.email('Enter the e-mail address of a colleague').max(320).transform((v) => v.toLowerCase()),
    startsAt: localDateTime,
    endsAt: localDateTime,
    reason: z.string().trim().max(500).optional().transform((v) => v || undefined),
  })
  .refine((a) => a.endsAt > a.startsAt, { path: ['endsAt'], message: 'Must be after the start' });
/** `<requestId>|<version>`: what the checkbox of one open request posts. */
const selectedItem = z.string().regex(/^[^|]{1,300}\|[0-9a-f]{64}$/);

const messagePage = (title: string, text: string, status: number) => layout({ title, body: html`<h1>${title}</h1><p>${text}</p><p><a href="/me">My approvals</a></p>`, status });

/**
 * "My approvals" (/me): sign in by a one-time mailed link, see your open requests across all runs, approve
 * several at once (each through the same Update as its link: its own version, separation of duties and audit
 * entry, channel `inbox`), your decisions of the last 30 days, and your out-of-office.
 */
export function meRouter(ctx: ApiContext): Router {
  const router = Router();
  router.use('/me', (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'POST') return next();
    // Every /me POST must come from Opsflow's own pages; signing in (with someone else's link) must prove it.
    const refusal = crossOriginRefusal(ctx, req, req.path.startsWith('/sign-in/'));
    if (refusal) return void res.status(403).type('html').send(messagePage('Not sent', `This form was refused because ${refusal}.`, 403));
    next();
  });
  // Asking for links and using them are public: limited per client (the per-address cap is in person-sessions).
  const signInLimiter = rateLimit({ windowMs: 60_000, limit: 30, standardHeaders: 'draft-8', legacyHeaders: false, validate: { xForwardedForHeader: false } });
  router.use('/me/sign-in', signInLimiter);

  router.get('/me', async (req, res) => {
    if (await findPersonSession(ctx.db, readCookie(req, ME_COOKIE))) return res.redirect(303, '/me/approvals');
    res.type('html').send(signInPage());
  });

  router.post('/me', signInLimiter, form, async (req, res) => {
    const parsed = signInSchema.safeParse(req.body ?? {});
    if (!parsed.success) return void res.status(422).type('html').send(signInPage({ error: parsed.error.issues[0]!.message, email: String(req.body?.email ?? '') }));
    const linkId = await requestSignInLink(ctx.db, parsed.data.email, req.ip);
    if (linkId) {
      await ctx.temporal.workflow.start('signInLinkWorkflow', { taskQueue: ctx.config.TEMPORAL_TASK_QUEUE, workflowId: `sign-in-${linkId}`, args: [linkId] });
    }
    res.type('html').send(linkSentPage());
  });

  router.get('/me/sign-in/:token', async (req, res) => {
    const state = await inspectSignInLink(ctx.db, req.params.token);
    if (!state.ok) return void res.status(state.reason === 'unknown' ? 404 : 410).type('html').send(signInRefusedPage(state.reason));
    res.type('html').send(confirmSignInPage(req.params.token, state.email));
  });

  router.post('/me/sign-in/:token', async (req, res) => {
    const state = await consumeSignInLink(ctx.db, req.params.token);
    if (!state.ok) return void res.status(state.reason === 'unknown' ? 404 : 410).type('html').send(signInRefusedPage(state.reason));
    const session = await openPersonSession(ctx.db, state.email);
    res.cookie(ME_COOKIE, session.cookieValue, cookieOptions(ctx, '/me', PERSON_SESSION_TTL_MS));
    res.redirect(303, '/me/approvals');
  });

  /** Everything below needs the person's session; a POST also needs its CSRF token. */
  const signedIn = async (req: Request, res: Response, next: () => void) => {
    const session = await findPersonSession(ctx.db, readCookie(req, ME_COOKIE));
    if (!session) {
      if (req.method === 'GET') return res.redirect(303, '/me');
      return void res.status(401).type('html').send(messagePage('Please sign in again', 'Your session has ended. Ask for a new sign-in link.', 401));
    }
    if (req.method === 'POST' && !formTokenMatches(req.body?.[CSRF_FIELD], session.csrfToken)) {
      return void res.status(403).type('html').send(messagePage('Not sent', 'This form is out of date: reload the page and try again.', 403));
    }
    res.locals.csrfToken = session.csrfToken;
    res.locals.person = session;
    next();
  };
  const person = (res: Response) => res.locals.person as PersonSession;

  router.get('/me/approvals', signedIn, async (_req, res) => {
    sendConsolePage(res, inboxPage(await inboxProps(ctx, person(res).email)));
  });

  router.post('/me/approvals/decide', form, signedIn, async (req, res) => {
    const raw = ([] as unknown[]).concat(req.body?.item ?? []);
    const items = raw.map((value) => selectedItem.safeParse(value)).filter((r) => r.success).map((r) => r.data.split('|') as [string, string]);
    if (items.length === 0) {
      return sendConsolePage(res, inboxPage({ ...(await inboxProps(ctx, person(res).email)), error: { message: 'Select at least one request to approve.' } }), 422);
    }
    const outcomes: BulkOutcome[] = [];
    // One after another: each is its own Update with its own checks; one refusal does not stop the rest.
    for (const [requestId, version] of items) outcomes.push(await approveOne(ctx, req, person(res).email, requestId, version));
    sendConsolePage(res, bulkResultPage(outcomes));
  });

  mountMyTaskPages(router, ctx, signedIn);

  router.post('/me/out-of-office', form, signedIn, async (req, res) => {
    const me = person(res).email;
    const parsed = absenceSchema.safeParse(req.body ?? {});
    const values = Object.fromEntries(['delegateEmail', 'startsAt', 'endsAt', 'reason'].map((k) => [k, String(req.body?.[k] ?? '')]));
    const rerender = async (fieldErrors: Record<string, string>) =>
      sendConsolePage(res, inboxPage({ ...(await inboxProps(ctx, me)), error: { message: 'Please correct the out-of-office form.', fieldErrors }, values }), 422);
    if (!parsed.success) return rerender(Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message])));
    try {
      await recordDelegation(ctx.db, me, parsed.data, { actor: me, ip: req.ip, userAgent: req.get('user-agent') });
    } catch (error) {
      const issue = error instanceof AppError ? (error.details?.issues as Array<{ path: string; message: string }> | undefined)?.[0] : undefined;
      if (issue) return rerender({ [issue.path]: `${issue.path === 'delegateEmail' ? 'That person ' : ''}${issue.message}` });
      throw error;
    }
    res.redirect(303, '/me/approvals#out-of-office');
  });

  router.post('/me/out-of-office/:id/end', form, signedIn, async (req, res) => {
    const me = person(res).email;
    await removeDelegation(ctx.db, me, String(req.params.id), { actor: me, ip: req.ip });
    res.redirect(303, '/me/approvals#out-of-office');
  });

  router.post('/me/sign-out', form, signedIn, async (_req, res) => {
    await revokePersonSession(ctx.db, person(res).idHash);
    res.clearCookie(ME_COOKIE, cookieOptions(ctx, '/me'));
    res.redirect(303, '/me');
  });

  return router;
}

async function inboxProps(ctx: ApiContext, email: string, now = new Date()): Promise<InboxPageProps> {
  const [entry, open, decided, absences, tasks] = await Promise.all([
    ctx.db.person.findUnique({ where: { email } }),
    ctx.db.approvalRequest.findMany({
      where: { approverEmail: email, kind: 'decision', usedAt: null, revokedAt: null, expiresAt: { gt: now }, run: { status: 'running' } },
      include: { run: true },
      orderBy: { createdAt: 'asc' },
      take: 200,
    }),
    ctx.db.approvalRequest.findMany({
      where: { approverEmail: email, kind: 'decision', usedAt: { gte: new Date(now.getTime() - DECIDED_WINDOW_MS) } },
      include: { run: true },
      orderBy: { usedAt: 'desc' },
      take: 100,
    }),
    ctx.db.delegation.findMany({ where: { personEmail: email, endsAt: { gt: now } }, orderBy: { startsAt: 'asc' } }),
    openTasksFor(ctx.db, email),
  ]);
  const channels = await decisionChannels(ctx, decided);
  return {
    name: entry?.name ?? email,
    email,
    open: open.map(({ run, ...request }) => inboxItem(request, run)),
    decided: decided.map(({ run, ...d }) => ({ runTitle: run.title, stepTitle: d.stepTitle, decision: d.decision ?? '', comment: d.comment, decidedAt: d.usedAt!, channel: channels.get(d.id) })),
    absences,
    tasks: tasks.map((task) => ({
      taskId: task.id,
      title: task.title,
      runTitle: task.run.title,
      processTitle: findProcess(task.run.process)?.title ?? task.run.process,
      group: task.candidateGroup,
      heldByMe: task.holderEmail?.toLowerCase() === email.toLowerCase(),
      dueAt: task.dueAt,
      overdue: task.dueAt < now,
    })),
  };
}

function inboxItem(request: ApprovalRequest, run: Run) {
  const process = findProcess(run.process);
  const { facts, version } = process ? factsOf(process, run.input) : { facts: [], version: '' };
  return {
    requestId: request.id,
    processTitle: process?.title ?? run.process,
    runTitle: run.title,
    stepTitle: request.stepTitle,
    requester: { name: run.requesterName, email: run.requesterEmail },
    onBehalfOf: request.onBehalfOf,
    openedAt: request.createdAt,
    expiresAt: request.expiresAt,
    details: facts,
    version,
  };
}

/** The channel each decision came by, from its audit entry (the evidence), for the decided list. */
async function decisionChannels(ctx: ApiContext, decided: Array<Pick<ApprovalRequest, 'id' | 'runId'>>): Promise<Map<string, string>> {
  const channels = new Map<string, string>();
  if (decided.length === 0) return channels;
  const ids = new Set(decided.map((d) => d.id));
  const entries = await ctx.db.auditEntry.findMany({ where: { action: 'approval.decided', runId: { in: [...new Set(decided.map((d) => d.runId))] } }, select: { action: true, details: true } });
  for (const [requestId, channel] of decisionChannelsOf(entries)) if (ids.has(requestId)) channels.set(requestId, channel);
  return channels;
}

/** Approves one selected request as this person, through the same path as its link. */
async function approveOne(ctx: ApiContext, req: Request, email: string, requestId: string, seenVersion: string): Promise<BulkOutcome> {
  const found = await findApprovalWithRun(ctx.db, { id: requestId });
  if (!found || found.kind !== 'decision' || found.approverEmail.toLowerCase() !== email.toLowerCase()) {
    return { kind: 'refused', runTitle: found?.run.title ?? requestId, stepTitle: found?.stepTitle ?? '', reason: 'This request is not yours to decide.' };
  }
  const { run, ...approval } = found;
  const titles = { runTitle: run.title, stepTitle: approval.stepTitle };
  const closed = refusalFor(approval, run, new Date());
  if (closed) return { kind: 'refused', ...titles, reason: refusalText(closed) };
  const outcome = await decideByLink(ctx, approval, { decision: 'approved', comment: null, version: seenVersion, channel: 'inbox', ip: req.ip, userAgent: req.get('user-agent') });
  if (outcome.kind === 'decided') return { kind: 'decided', ...titles };
  if (outcome.kind === 'stale') {
    const process = findProcess(run.process);
    const fresh = await ctx.db.run.findUniqueOrThrow({ where: { id: run.id } });
    const now = process ? factsOf(process, fresh.input).facts : [];
    const seen = await factsAtVersion(ctx.db, run.id, seenVersion);
    return { kind: 'stale', ...titles, changes: seen ? diffFacts(seen, now) : [] };
  }
  if (outcome.kind === 'pending') return { kind: 'refused', ...titles, reason: 'Sent, but the run has not confirmed it yet; reload My approvals in a minute.' };
  if (outcome.kind === 'reason_required') return { kind: 'refused', ...titles, reason: 'This step needs a comment: open it from its e-mail.' };
  return { kind: 'refused', ...titles, reason: refusalText(outcome) };
}
