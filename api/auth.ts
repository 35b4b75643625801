import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { apiKeyIdOf, hasScope, verifyApiKey, type Identity } from '../lib/api-keys.js';
import { AppError } from '../lib/errors.js';
import { FailedKeyCheckLimiter } from './auth-failures.js';
import type { ApiContext } from './context.js';

declare module 'express-serve-static-core' {
  interface Request {
    identity?: Identity;
  }
}

function presentedKey(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  return req.get('x-api-key')?.trim();
}

/** For contexts built without createApp (which gives each app its own): one limiter per process. */
const processWideLimiter = new FailedKeyCheckLimiter();

/** The client a failed key check is counted against: the socket's peer unless TRUST_PROXY names the proxy. */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * Checks a presented key under the failed-check limits: 429 (with Retry-After) while the client or the key id is
 * over its limit, whether or not this key is right; otherwise the identity, or undefined after counting a failure.
 */
export async function checkKeyLimited(ctx: ApiContext, req: Request, res: Response, presented: string): Promise<Identity | undefined> {
  const limiter = ctx.authFailures ?? processWideLimiter;
  const client = clientAddress(req);
  const keyId = apiKeyIdOf(presented);
  const wait = limiter.retryAfterSeconds(client, keyId);
  if (wait > 0) {
    res.setHeader('Retry-After', String(wait));
    throw new AppError('rate_limited', `Too many failed key checks; try again in ${wait} s`, { retryAfterSeconds: wait });
  }
  const identity = await verifyApiKey(ctx.db, presented, ctx.apiKeys);
  if (!identity) limiter.recordFailure(client, keyId);
  return identity;
}

/** 401 without a valid key. The key's identity (a person's e-mail) and scopes ride on `req.identity`. */
export function authenticate(ctx: ApiContext): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = presentedKey(req);
    if (!key) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="opsflow"');
      throw new AppError('unauthorized', 'An API key is required: send it as "Authorization: Bearer <key>"');
    }
    const identity = await checkKeyLimited(ctx, req, res, key);
    if (!identity) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="opsflow", error="invalid_token"');
      throw new AppError('unauthorized', 'This API key is not valid or was revoked');
    }
    req.identity = identity;
    next();
  };
}

export function requireIdentity(req: Request): Identity {
  if (!req.identity) throw new AppError('unauthorized', 'An API key is required');
  return req.identity;
}

/** 403 unless the key holds the scope (a function derives it from the request, e.g. the process key). */
export function requireScope(scope: string | ((req: Request) => string)): RequestHandler {
  return (req, _res, next) => {
    const needed = typeof scope === 'function' ? scope(req) : scope;
    const identity = requireIdentity(req);
    if (!hasScope(identity, needed)) {
      throw new AppError('forbidden', `This API key lacks the "${needed}" scope`, { requiredScope: needed });
    }
    next();
  };
}

export function assertScope(req: Request, scope: string): void {
  if (!hasScope(requireIdentity(req), scope)) {
    throw new AppError('forbidden', `This API key lacks the "${scope}" scope`, { requiredScope: scope });
  }
}
