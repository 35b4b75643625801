import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { findConsoleSession, type ConsoleSession } from '../lib/console-sessions.js';
import { safeEqual } from '../lib/tokens.js';
import type { ApiContext } from './context.js';
import { escapeHtml } from './pages/html.js';

/**
 * The ops console's defences, apart from its pages: the session cookie, the CSRF token every console form carries,
 * and the same-origin check on every console POST. SameSite=Strict alone is not enough: a page on another port of
 * the same host is "same-site" and gets the cookie sent; its Origin differs, and it cannot read the CSRF token.
 */
export const SESSION_COOKIE = 'opsflow_session';
/** Holds the sign-in form's token until sign-in, so a cross-site post cannot sign a browser in (login CSRF). */
export const LOGIN_COOKIE = 'opsflow_login';
export const CSRF_FIELD = '_csrf';

declare module 'express-serve-static-core' {
  interface Request {
    consoleSession?: ConsoleSession;
  }
}

export function readCookie(req: Request, name: string): string | undefined {
  const pair = (req.headers.cookie ?? '').split(';').map((c) => c.trim()).find((c) => c.startsWith(`${name}=`));
  if (!pair) return undefined;
  try {
    return decodeURIComponent(pair.slice(name.length + 1));
  } catch {
    return undefined;
  }
}

/** HttpOnly, SameSite=Strict, scoped to the console, Secure whenever the console is served over https. */
export function cookieOptions(ctx: ApiContext, path: string, maxAgeMs?: number) {
  return { httpOnly: true, sameSite: 'strict' as const, path, secure: ctx.config.PUBLIC_BASE_URL.startsWith('https:'), ...(maxAgeMs ? { maxAge: maxAgeMs } : {}) };
}

export function newFormToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Sends a console page with the CSRF token in every POST form, so no form (including ones added later) can be
 * forgotten: the console's templates all write `<form method="post" ...>`.
 */
export function sendConsolePage(res: Response, html: string, status = 200): void {
  const token = res.locals.csrfToken as string | undefined;
  const withToken = token
    ? html.replace(/<form method="post"[^>]*>/g, (tag) => `${tag}<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(token)}">`)
    : html;
  res.status(status).type('html').send(withToken);
}

/**
 * Why a console POST is refused as cross-origin, or undefined. Browsers say where a form came from in
 * Sec-Fetch-Site (`same-origin` for the console's own pages) and in Origin, which is `null` here: every page is
 * served with Referrer-Policy no-referrer, and browsers then send `Origin: null` even on same-origin posts. So a
 * foreign Sec-Fetch-Site or a foreign Origin refuses; `same-origin` or the console's own origin (PUBLIC_BASE_URL's,
 * or the one the request was addressed to, which a foreign page cannot choose) vouches. A request that says
 * neither (not a browser) passes here and still needs the session's CSRF token; sign-in demands the proof.
 */
export function crossOriginRefusal(ctx: ApiContext, req: Request, requireProof: boolean): string | undefined {
  const fetchSite = req.get('sec-fetch-site');
  if (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none') return `the browser says the form came from a ${fetchSite} page`;
  const origin = req.get('origin');
  const own = new Set([new URL(ctx.config.PUBLIC_BASE_URL).origin, `${req.protocol}://${req.get('host') ?? ''}`]);
  if (origin && origin !== 'null' && !own.has(origin)) return `it came from ${origin}`;
  const vouched = fetchSite === 'same-origin' || (origin !== undefined && own.has(origin));
  return vouched || !requireProof ? undefined : 'the browser did not say it came from the console';
}

/** Constant-time comparison of a submitted form token with the expected one. */
export function formTokenMatches(submitted: unknown, expected: string | undefined): boolean {
  return typeof submitted === 'string' && expected !== undefined && safeEqual(submitted, expected);
}

/**
 * Finds the console session (req.consoleSession, req.identity) or answers: a page request without one goes to
 * sign-in (303), a POST without one gets 401, a POST without the session's CSRF token 403.
 */
export function requireConsoleSession(ctx: ApiContext, pages: { signInAgain: (res: Response) => void; badToken: () => string }): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const session = await findConsoleSession(ctx.db, readCookie(req, SESSION_COOKIE) ?? '');
    if (!session) {
      if (req.method === 'GET' || req.method === 'HEAD') return res.redirect(303, '/ops/login');
      return pages.signInAgain(res);
    }
    if (req.method === 'POST' && !formTokenMatches(req.body?.[CSRF_FIELD], session.csrfToken)) {
      return sendConsolePage(res, pages.badToken(), 403);
    }
    req.consoleSession = session;
    req.identity = session.identity;
    res.locals.csrfToken = session.csrfToken;
    next();
  };
}
