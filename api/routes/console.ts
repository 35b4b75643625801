import express, { Router, type Response } from 'express';
import { PAGE_LINK_KIND } from '../../processes/incident-messages.js';
import { hasScope } from '../../lib/api-keys.js';
import { CONSOLE_SESSION_TTL_MS, findConsoleSession, openConsoleSession, revokeConsoleSession } from '../../lib/console-sessions.js';
import { AppError } from '../../lib/errors.js';
import { runHealth } from '../../lib/run-health.js';
import { checkKeyLimited } from '../auth.js';
import {
  CSRF_FIELD,
  LOGIN_COOKIE,
  SESSION_COOKIE,
  cookieOptions,
  crossOriginRefusal,
  formTokenMatches,
  newFormToken,
  readCookie,
  requireConsoleSession,
  sendConsolePage,
} from '../console-security.js';
import { findProcess, processes } from '../../processes/index.js';
import type { ApiContext } from '../context.js';
import { fieldsFromSchema, inputJsonSchema, valuesFromForm } from '../form-fields.js';
import { computeKpis } from '../kpis.js';
import { dashboardPage, loginPage, messagePage, runPage, runsPage, startPage } from '../pages/console.js';
import { startRun, starterFor } from '../run-service.js';
import { runDetail, runSummary } from '../run-views.js';
import { cancelBodySchema, cancelRun, decodeCursor, encodeCursor, runStatuses, startedRunsUnless } from './runs.js';

const DAY = 86_400_000;
const catalog = () => processes.map((p) => ({ key: p.key, title: p.title }));
const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

// Every console page goes out through sendConsolePage, which puts the CSRF token into its POST forms.
const sendPage = sendConsolePage;

/** A fresh sign-in form with its login-CSRF token (also in a short-lived cookie only this form's post gets back). */
function sendLoginPage(ctx: ApiContext, res: Response, error?: string, status = 200): void {
  const token = newFormToken();
  res.cookie(LOGIN_COOKIE, token, cookieOptions(ctx, '/ops/login', 60 * 60_000));
  res.locals.csrfToken = token;
  sendPage(res, loginPage(error), status);
}

const formExpiredPage = () => messagePage('Form expired', 'This form is no longer valid (it came from an older page or another site); reload the page and try again.', 403);

/**
 * The ops console: server-rendered pages on the same data as the API. Browsers cannot send bearer keys, so the key
 * pasted at /ops/login opens a server-side session (lib/console-sessions.ts) whose random id rides in an HttpOnly,
 * SameSite=Strict cookie scoped to /ops; the key itself never leaves the sign-in request. Every POST must come from
 * the console's own origin and carry the session's CSRF token (api/console-security.ts).
 */
export function consoleRouter(ctx: ApiContext): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '100kb' });

  // Before anything else: a console POST from another origin (another port of this host included) changes nothing.
  router.use('/ops', form, (req, res, next) => {
    if (req.method !== 'POST') return next();
    const refusal = crossOriginRefusal(ctx, req, req.path === '/login');
    if (!refusal) return next();
    sendPage(res, messagePage('Not allowed', `This form was not sent from the ops console (${refusal}), so nothing was done.`, 403), 403);
  });

  router.get('/ops/login', (_req, res) => sendLoginPage(ctx, res));
  router.post('/ops/login', form, async (req, res) => {
    // Login CSRF: only the form this browser was given can sign it in, never one posted by another site.
    if (!formTokenMatches(req.body?.[CSRF_FIELD], readCookie(req, LOGIN_COOKIE))) {
      return sendLoginPage(ctx, res, 'The sign-in form expired; please paste your key again.', 403);
    }
    const key = text(req.body?.key) ?? '';
    let identity;
    try {
      identity = await checkKeyLimited(ctx, req, res, key);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'rate_limited') throw error;
      return sendLoginPage(ctx, res, `${error.message}.`, 429);
    }
    if (!identity) return sendLoginPage(ctx, res, 'That key is not valid or was revoked.', 401);
    const session = await openConsoleSession(ctx.db, identity, { ip: req.ip, userAgent: req.get('user-agent') });
    res.clearCookie(LOGIN_COOKIE, cookieOptions(ctx, '/ops/login'));
    res.cookie(SESSION_COOKIE, session.cookieValue, cookieOptions(ctx, '/ops', CONSOLE_SESSION_TTL_MS));
    res.redirect(303, '/ops');
  });
  /** Revokes the session server-side: a copy of the cookie kept anywhere stops working too. */
  router.post('/ops/logout', async (req, res) => {
    const session = await findConsoleSession(ctx.db, readCookie(req, SESSION_COOKIE) ?? '');
    if (session) {
      if (!formTokenMatches(req.body?.[CSRF_FIELD], session.csrfToken)) return sendPage(res, formExpiredPage(), 403);
      await revokeConsoleSession(ctx.db, session.idHash);
    }
    res.clearCookie(SESSION_COOKIE, cookieOptions(ctx, '/ops'));
    res.redirect(303, '/ops/login');
  });

  router.use('/ops', requireConsoleSession(ctx, { signInAgain: (res) => sendLoginPage(ctx, res, 'Your session ended; please sign in again.', 401), badToken: formExpiredPage }));
  router.use('/ops', (req, res, next) => {
    if (!hasScope(req.identity!, 'runs:read')) return sendPage(res, messagePage('Not allowed', 'This key lacks the "runs:read" scope.', 403), 403);
    next();
  });

  router.get('/ops', async (req, res) => {
    const to = req.query.to ? new Date(`${String(req.query.to)}T23:59:59.999Z`) : new Date();
    const from = req.query.from ? new Date(`${String(req.query.from)}T00:00:00Z`) : new Date(to.getTime() - 90 * DAY);
    const process = text(req.query.process);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to || (process && !findProcess(process))) {
      return sendPage(res, messagePage('Invalid filter', 'Pick a known process and a "from" date before the "to" date.', 422), 422);
    }
    const kpis = await computeKpis(ctx.db, { process, from, to });
    sendPage(res, dashboardPage(kpis, catalog(), { process, from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) }));
  });

  router.get('/ops/runs', async (req, res) => {
    const process = text(req.query.process);
    const status = (runStatuses as readonly string[]).includes(String(req.query.status)) ? String(req.query.status) : undefined;
    const q = text(req.query.q);
    const health = req.query.health === 'stuck' ? 'stuck' : undefined;
    const after = text(req.query.cursor) ? decodeCursor(String(req.query.cursor)) : undefined;
    const rows = await ctx.db.run.findMany({
      where: {
        ...(process ? { process } : {}),
        ...startedRunsUnless(status),
        ...(health ? { status: 'running', stuckSince: { not: null } } : {}),
        ...(q ? { OR: [{ title: { contains: q, mode: 'insensitive' } }, { requesterName: { contains: q, mode: 'insensitive' } }, { requesterEmail: { contains: q, mode: 'insensitive' } }] } : {}),
        ...(after ? { AND: [{ OR: [{ startedAt: { lt: after.startedAt } }, { startedAt: after.startedAt, id: { lt: after.id } }] }] } : {}),
      },
      orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
      take: 26,
    });
    const pageRows = rows.slice(0, 25);
    const next = rows.length > 25 ? new URLSearchParams({ ...(process ? { process } : {}), ...(status ? { status } : {}), ...(q ? { q } : {}), ...(health ? { health } : {}), cursor: encodeCursor(pageRows.at(-1)!) }) : null;
    sendPage(res, runsPage(pageRows.map(runSummary), { process, status, q, health }, next ? `/ops/runs?${next.toString()}` : null, catalog()));
  });

  router.get('/ops/runs/:id', async (req, res) => {
    const run = await ctx.db.run.findUnique({
      where: { id: String(req.params.id) },
      include: { approvals: { where: { kind: { notIn: ['task', PAGE_LINK_KIND] } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }, audit: { orderBy: [{ at: 'asc' }, { id: 'asc' }] } },
    });
    if (!run) return sendPage(res, messagePage('Not found', `No run ${String(req.params.id)}.`, 404), 404);
    const details = findProcess(run.process)?.describe(run.input) ?? [];
    const health = run.status === 'running' ? await runHealth(ctx.temporal, run.id) : undefined;
    sendPage(res, runPage(runDetail(run), details, hasScope(req.identity!, 'runs:manage'), { health }));
  });

  router.post('/ops/runs/:id/cancel', form, async (req, res) => {
    if (!hasScope(req.identity!, 'runs:manage')) return sendPage(res, messagePage('Not allowed', 'Cancelling needs the "runs:manage" scope.', 403), 403);
    const run = await ctx.db.run.findUnique({
      where: { id: String(req.params.id) },
      include: { approvals: { where: { kind: { notIn: ['task', PAGE_LINK_KIND] } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }, audit: { orderBy: [{ at: 'asc' }, { id: 'asc' }] } },
    });
    if (!run) return sendPage(res, messagePage('Not found', `No run ${String(req.params.id)}.`, 404), 404);
    const reason = cancelBodySchema.safeParse({ reason: text(req.body?.reason) });
    if (!reason.success) {
      const details = findProcess(run.process)?.describe(run.input) ?? [];
      return sendPage(res, runPage(runDetail(run), details, true, { cancelError: reason.error.issues[0]!.message }), 422);
    }
    if (run.status === 'running') await cancelRun(ctx, run, req.identity!.email, reason.data.reason);
    res.redirect(303, `/ops/runs/${encodeURIComponent(run.id)}`);
  });

  router.get('/ops/start/:process', (req, res) => {
    const process = findProcess(String(req.params.process));
    if (!process) return sendPage(res, messagePage('Not found', 'No such process.', 404), 404);
    sendPage(res, startPage(process, fieldsFromSchema(inputJsonSchema(process), {})));
  });

  router.post('/ops/start/:process', form, async (req, res) => {
    const process = findProcess(String(req.params.process));
    if (!process) return sendPage(res, messagePage('Not found', 'No such process.', 404), 404);
    const schema = inputJsonSchema(process);
    const input = valuesFromForm(schema, (req.body ?? {}) as Record<string, unknown>);
    try {
      const { runId } = await startRun(ctx, { process: process.key, input }, undefined, starterFor(req.identity!));
      res.redirect(303, `/ops/runs/${runId}`);
    } catch (error) {
      if (!(error instanceof AppError) || (error.code !== 'validation_failed' && error.code !== 'forbidden')) throw error;
      const errors = Object.fromEntries((error.details?.issues ?? []).map((i) => [i.path.replace(/^input\./, ''), i.message]));
      sendPage(res, startPage(process, fieldsFromSchema(schema, input, errors), error.message), error.status);
    }
  });

  return router;
}
