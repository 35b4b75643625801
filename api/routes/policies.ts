import type { Request } from 'express';
import { z } from 'zod';
import { hasScope } from '../../lib/api-keys.js';
import { AppError } from '../../lib/errors.js';
import type { ProcessPolicy } from '../../lib/generated/prisma/client.js';
import { currentPolicy, inSchemaOrder, policyVersions, savePolicy } from '../../lib/policy-store.js';
import { findProcess, policySchemaOf, type ProcessDefinition } from '../../processes/index.js';
import { policyLimits } from '../../processes/policy.js';
import { requireIdentity } from '../auth.js';
import { parseOr422 } from '../errors.js';
import { defineRoute } from '../route-table.js';
import { policyInForceExample, policyVersionExample, setPolicyBodyExample } from '../examples.js';
import { wakeWebhooks } from '../run-service.js';

export const putPolicyBodySchema = z.object({
  policy: z.record(z.string(), z.unknown(), { error: 'required: the whole policy, as GET returns it under "policy"' }),
  reason: z.string({ error: 'required: say why the policy changes (it is audited)' }).trim().min(3, 'say why the policy changes (at least 3 characters)').max(1000),
  basedOn: z.number().int().positive().optional().describe('The version you edited; refused with 409 if someone changed it since'),
});

export function policyView(row: ProcessPolicy) {
  const process = findProcess(row.process);
  const policy = process ? inSchemaOrder(process, row.policy) : row.policy;
  return { process: row.process, version: row.version, policy, createdBy: row.createdBy, createdAt: row.createdAt.toISOString(), reason: row.reason };
}

export function processOr404(key: string): ProcessDefinition {
  const process = findProcess(key);
  if (!process) throw new AppError('not_found', `Unknown process "${key}"`);
  return process;
}

function assertCanRead(req: Request): void {
  const identity = requireIdentity(req);
  if (!hasScope(identity, 'runs:read') && !hasScope(identity, 'policies:write')) {
    throw new AppError('forbidden', 'Reading a policy needs "runs:read" or "policies:write"', { requiredScope: 'runs:read' });
  }
}

export const policyVersionSchema = z
  .object({
    process: z.string(),
    version: z.number().int(),
    policy: z.record(z.string(), z.unknown()).describe("The process's policy schema has its shape (GET /processes/{key} `policySchema`)"),
    createdBy: z.string(),
    createdAt: z.iso.datetime(),
    reason: z.string(),
  })
  .meta({ id: 'PolicyVersion' });

const policyParams = z.object({ key: z.string().meta({ example: 'capex' }) });
const READ_ACCESS = 'runs:read or policies:write';

/**
 * Each process's policy: routing, thresholds, approver roles, timing, deadline actions, separation of duties and
 * material fields. Read by anyone who reads runs; changed only with policies:write, each change a new version.
 */
export const policyRoutes = [
  defineRoute({
    method: 'get',
    path: '/processes/:key/policy',
    operationId: 'getPolicy',
    tag: 'Policies',
    summary: "The process's policy in force, its bounds and JSON Schema",
    accessNote: READ_ACCESS,
    request: { params: policyParams },
    responses: {
      200: {
        description: 'The policy in force',
        schema: policyVersionSchema.extend({ bounds: z.record(z.string(), z.unknown()), schema: z.record(z.string(), z.unknown()), links: z.record(z.string(), z.unknown()) }),
        example: policyInForceExample,
      },
    },
    errors: { 404: 'Unknown process' },
    async handler(ctx, { req, params, res }) {
      assertCanRead(req);
      const process = processOr404(params.key);
      const current = await currentPolicy(ctx.db, process);
      const bounds = policyLimits(ctx.config.OPSFLOW_ALLOW_SHORT_DURATIONS);
      res.json({
        ...policyView(current),
        bounds,
        schema: z.toJSONSchema(policySchemaOf(process, bounds), { io: 'input', unrepresentable: 'any' }),
        links: { versions: `/processes/${process.key}/policy/versions`, change: { method: 'PUT', href: `/processes/${process.key}/policy`, scope: 'policies:write' } },
      });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/processes/:key/policy/versions',
    operationId: 'listPolicyVersions',
    tag: 'Policies',
    summary: "Every version of the process's policy, newest first",
    accessNote: READ_ACCESS,
    request: { params: policyParams },
    responses: { 200: { description: 'Versions', schema: z.object({ items: z.array(policyVersionSchema) }) } },
    errors: { 404: 'Unknown process' },
    async handler(ctx, { req, params, res }) {
      assertCanRead(req);
      const process = processOr404(params.key);
      res.json({ items: (await policyVersions(ctx.db, process)).map(policyView) });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/processes/:key/policy/versions/:version',
    operationId: 'getPolicyVersion',
    tag: 'Policies',
    summary: 'One version of the policy',
    accessNote: READ_ACCESS,
    request: { params: policyParams.extend({ version: z.string().meta({ example: '2' }) }) },
    responses: { 200: { description: 'The version', schema: policyVersionSchema } },
    errors: { 404: 'Unknown process or version' },
    async handler(ctx, { req, params, res }) {
      assertCanRead(req);
      const process = processOr404(params.key);
      const version = Number(params.version);
      const row = Number.isInteger(version) ? await ctx.db.processPolicy.findUnique({ where: { process_version: { process: process.key, version } } }) : null;
      if (!row) throw new AppError('not_found', `The ${process.key} policy has no version ${params.version}`);
      res.json(policyView(row));
    },
  }),
  defineRoute({
    method: 'put',
    path: '/processes/:key/policy',
    operationId: 'setPolicy',
    tag: 'Policies',
    summary: 'Save a new version of the policy (audited; runs in flight keep theirs)',
    scope: 'policies:write',
    request: { params: policyParams, body: putPolicyBodySchema, bodyValidation: 'handler', bodyExample: setPolicyBodyExample },
    responses: { 200: { description: 'The new version', schema: policyVersionSchema, example: policyVersionExample } },
    errors: { 404: 'Unknown process', 409: 'Someone changed the policy since the version in basedOn', 422: 'The policy is invalid; details.issues names each field path' },
    async handler(ctx, { req, params, res }) {
      const process = processOr404(params.key);
      const body = parseOr422(putPolicyBodySchema, req.body);
      const { saved, wake } = await savePolicy(ctx.db, process, body, requireIdentity(req).email, ctx.config.OPSFLOW_ALLOW_SHORT_DURATIONS);
      await wakeWebhooks(ctx, wake);
      res.status(200).json(policyView(saved));
    },
  }),
];
