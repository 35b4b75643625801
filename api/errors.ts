import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';
import { AppError, fieldIssues } from '../lib/errors.js';
import { MAX_JSON_DEPTH } from '../lib/json-depth.js';
import { redactPath, type Logger } from '../lib/logger.js';
import { TOO_DEEP_ERROR_TYPE } from './json-body.js';

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

/** Everything the API refuses ends here as `{ error: { code, message, details? } }`, never a stack trace. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const appError = toAppError(error);
    // The path of an approval link holds its token: log the route, never the token.
    if (appError.status >= 500) logger.error({ err: error, path: redactPath(req.path), requestId: req.id }, 'request failed');
    if (res.headersSent) return;
    res.status(appError.status).json({
      error: { code: appError.code, message: appError.message, ...(appError.details ? { details: appError.details } : {}) },
    });
  };
}

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
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
  const message = `objects and arrays may nest at most ${MAX_JSON_DEPTH} levels`;
  return new AppError('validation_failed', 'Request body is nested too deeply', { issues: [{ path: '(root)', message }] });
}
