import type { Request } from 'express';
import { z } from 'zod';
import { createApiKey, revokeApiKey, scopeSchemaHint, unknownScopes } from '../../lib/api-keys.js';
import { AppError } from '../../lib/errors.js';
import type { ApiKey } from '../../lib/generated/prisma/client.js';
import { insertAuditEntry } from '../../lib/outbound-webhooks.js';
import { processes } from '../../processes/index.js';
import { requireIdentity } from '../auth.js';
import type { ApiContext } from '../context.js';
import { defineRoute } from '../route-table.js';
import { createKeyBodyExample, keyCreatedExample } from '../examples.js';

export const createKeyBodySchema = z.object({
  name: z.string().trim().min(1, 'required: what the key is for, e.g. "Slack approvals bot"').max(200),
  email: z.email('must be an e-mail address').transform((value) => value.toLowerCase()).describe('The person the key acts as (in the directory)'),
  scopes: z
    .array(z.string().min(1))
    .min(1, `name at least one scope: ${scopeSchemaHint}`)
    .refine((scopes) => unknownScopes(scopes, processes.map((p) => p.key)).length === 0, {
      message: `unknown scope; known: ${scopeSchemaHint} (processes: ${processes.map((p) => p.key).join(', ')})`,
    }),
});

export const apiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    personEmail: z.string(),
    scopes: z.array(z.string()),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ApiKey' });

const keyView = (key: ApiKey) => ({
  id: key.id,
  name: key.name,
  personEmail: key.personEmail,
  scopes: key.scopes,
  createdAt: key.createdAt.toISOString(),
  lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
  revokedAt: key.revokedAt?.toISOString() ?? null,
});

/** API keys (scope admin): a key is shown once, when it is made; only its hash is kept. Each change is audited. */
export const keyRoutes = [
  defineRoute({
    method: 'post',
    path: '/keys',
    operationId: 'createKey',
    tag: 'Keys',
    summary: 'Make an API key for a person in the directory; the key is shown this once',
    scope: 'admin',
    request: { body: createKeyBodySchema, bodyExample: createKeyBodyExample },
    responses: { 201: { description: 'Made', schema: apiKeySchema.extend({ key: z.string().describe('opk_<id>_<secret>: store it now') }), example: keyCreatedExample } },
    errors: { 422: 'Invalid name, unknown scope, or a person not in the directory' },
    async handler(ctx, { req, body, res }) {
      const person = await ctx.db.person.findUnique({ where: { email: body.email } });
      if (!person) throw new AppError('validation_failed', `${body.email} is not in the directory`, { issues: [{ path: 'email', message: 'is not in the directory' }] });
      const { id, key } = await createApiKey(ctx.db, { name: body.name, personEmail: person.email, scopes: body.scopes });
      await auditKeyChange(ctx, req, id, 'apikey.created', { name: body.name, personEmail: person.email, scopes: body.scopes });
      const row = await ctx.db.apiKey.findUniqueOrThrow({ where: { id } });
      res.status(201).json({ ...keyView(row), key });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/keys',
    operationId: 'listKeys',
    tag: 'Keys',
    summary: 'API keys (never their secrets), oldest first',
    scope: 'admin',
    responses: { 200: { description: 'Keys', schema: z.object({ items: z.array(apiKeySchema) }) } },
    async handler(ctx, { res }) {
      res.json({ items: (await ctx.db.apiKey.findMany({ orderBy: { createdAt: 'asc' } })).map(keyView) });
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/keys/:id',
    operationId: 'revokeKey',
    tag: 'Keys',
    summary: 'Revoke a key: it stops working at once on every API process that hears revocations (the default), within API_KEY_CACHE_MS (5 s) on one that does not (console sessions signed in with it end too)',
    scope: 'admin',
    request: { params: z.object({ id: z.string() }) },
    responses: { 200: { description: 'Revoked (revoking again changes nothing)', schema: apiKeySchema } },
    errors: { 404: 'No such key' },
    async handler(ctx, { req, params, res }) {
      const key = await ctx.db.apiKey.findUnique({ where: { id: params.id } });
      if (!key) throw new AppError('not_found', `No API key ${params.id}`);
      if (key.revokedAt) return void res.json(keyView(key));
      // At once on this API process and on every one that hears revocations; the others within API_KEY_CACHE_MS.
      const revoked = await revokeApiKey(ctx.db, key.id);
      ctx.apiKeys?.forget(key.id);
      await auditKeyChange(ctx, req, key.id, 'apikey.revoked', { name: key.name, personEmail: key.personEmail });
      res.json(keyView(revoked));
    },
  }),
];

/** Key changes belong to no run: they go on the org chain, like directory changes. */
async function auditKeyChange(ctx: ApiContext, req: Request, keyId: string, action: string, details: Record<string, unknown>) {
  await ctx.db.$transaction((tx) =>
    insertAuditEntry(tx, { eventKey: `${action}:${keyId}`, action, actor: requireIdentity(req).email, ip: req.ip ?? null, details: { keyId, ...details } }),
  );
}
