import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { AppError, fieldIssues } from '../lib/errors.js';
import { TOO_DEEP_MESSAGE } from '../lib/json-depth.js';
import { redactPath, type Logger } from '../lib/logger.js';
import { classifyUnavailable } from '../lib/unavailability.js';
import { TOO_DEEP_ERROR_TYPE } from './json-body.js';
import { html, layout } from './pages/html.js';

/** Parses a value with a zod schema or throws a 422 naming each bad field, prefixed with where it sat. */
export function parseOr422<T>(schema: z.ZodType<T>, value: unknown, prefix: string[] = [], message = 'Request body is invalid'): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new AppError('validation_failed', message, { issues: fieldIssues(parsed.error.issues, prefix) });
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `No route for ${req.method} ${req.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/** Seconds a client should wait before retrying a 503 (an outage) or a 429 (shed load) that names none. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** Pages people open in a browser (approval links, forms, the console): they get an HTML page, never JSON. */
function wantsHtmlPage(req: Request): boolean {
  if (/^\/(approvals|ops|me)(\/|$)/.test(req.path)) return true;
  return req.accepts(['json', 'html']) === 'html' && !req.get('authorization');
}

/**
 * Every 503 and 429 carries Retry-After: one place for all of them, including the routes that answer 503 on
 * their own (an undeliverable decision, a stuck run's page).
 */
export const retryAfterOnUnavailable: RequestHandler = (_req, res, next) => {
  const writeHead = res.writeHead;
  res.writeHead = function (this: Response, ...args: Parameters<Response['writeHead']>) {
    const status = typeof args[0] === 'number' ? args[0] : res.statusCode;
    if ((status === 503 || status === 429) && !res.getHeader('retry-after')) res.setHeader('Retry-After', String(DEFAULT_RETRY_AFTER_SECONDS));
    return writeHead.apply(this, args);
  } as Response['writeHead'];
  next();
};

/** The HTML page for an error on a browser route: what happened and what to do, in plain words. */
export function errorPage(appError: AppError): string {
  const unavailable = appError.code === 'unavailable' || appError.code === 'rate_limited';
  const title = unavailable ? 'Please try again in a minute' : appError.status >= 500 ? 'Something went wrong' : 'This request cannot be handled';
  const body = unavailable
    ? html`<h1>${title}</h1><p>Opsflow is briefly unavailable (${appError.message}). Nothing was changed. Reload this page in a minute; your link keeps working until it expires.</p>`
    : html`<h1>${title}</h1><p>${appError.message}</p>`;
  return layout({ title, body, status: appError.status });
}

/** Everything the API refuses ends here as `{ error: { code, message, details? } }` (or a page), never a stack trace. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const appError = toAppError(error);
    // The path of an approval link holds its token: log the route, never the token.
    if (appError.code === 'unavailable') logger.warn({ err: error, path: redactPath(req.path), requestId: req.id }, 'dependency unavailable; answered 503');
    else if (appError.status >= 500) logger.error({ err: error, path: redactPath(req.path), requestId: req.id }, 'request failed');
    if (res.headersSent) return;
    const retryAfter = appError.details?.retryAfterSeconds;
    if (appError.status === 503 || appError.status === 429) res.setHeader('Retry-After', String(typeof retryAfter === 'number' ? retryAfter : DEFAULT_RETRY_AFTER_SECONDS));
    if (wantsHtmlPage(req)) return void res.status(appError.status).setHeader('Cache-Control', 'no-store').type('html').send(errorPage(appError));
    res.status(appError.status).json({
      error: { code: appError.code, message: appError.message, ...(appError.details ? { details: appError.details } : {}) },
    });
  };
}

/** An unavailable dependency as the API states it: 503, which dependency, and when to retry. */
export function unavailableError(dependency: string, reason: string, retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS): AppError {
  return new AppError('unavailable', `The ${dependency} is unavailable (${reason}); nothing was changed by this request. Retry after ${retryAfterSeconds} s.`, {
    dependency,
    retryAfterSeconds,
  });
}

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const unavailable = classifyUnavailable(error);
  if (unavailable) return unavailableError(unavailable.dependency, unavailable.reason);
  const bodyError = error as BodyParserError;
  switch (bodyError?.type) {
    case 'entity.parse.failed':
      return new AppError('bad_request', 'Malformed JSON in request body');
    case TOO_DEEP_ERROR_TYPE:
      return tooDeepError();
    case 'entity.too.large':
      return new AppError('payload_too_large', `Request body is larger than the ${bodyError.limit ?? ''} byte limit`.replace('the  byte', 'the'));
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'Unsupported body encoding');
  }
  return new AppError('internal', 'Something went wrong on our side; nothing was changed by this request');
}

/** A body nested past MAX_JSON_DEPTH: refused before parsing, so it can never overflow the stack. */
export function tooDeepError(): AppError {
  return new AppError('validation_failed', 'Request body is nested too deeply', { issues: [{ path: '(root)', message: TOO_DEEP_MESSAGE }] });
}
