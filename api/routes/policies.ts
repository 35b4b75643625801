import { Router, type Request } from 'express';
import { z } from 'zod';
import { hasScope } from '../../lib/api-keys.js';
import { AppError } from '../../lib/errors.js';
import type { ProcessPolicy } from '../../lib/generated/prisma/client.js';
import { currentPolicy, inSchemaOrder, policyVersions, savePolicy } from '../../lib/policy-store.js';
import { findProcess, policySchemaOf, type ProcessDefinition } from '../../processes/index.js';
import { policyLimits } from '../../processes/policy.js';
import { authenticate, requireIdentity, requireScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { parseOr422 } from '../errors.js';
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

/**
 * Each process's policy: routing, thresholds, approver roles, timing, deadline actions, separation of duties and
 * material fields. Read by anyone who reads runs; changed only with policies:write, each change a new version.
 */
export function policiesRouter(ctx: ApiContext): Router {
  const router = Router();
  const bounds = () => policyLimits(ctx.config.OPSFLOW_ALLOW_SHORT_DURATIONS);

  router.get('/processes/:key/policy', authenticate(ctx), async (req, res) => {
    assertCanRead(req);
    const process = processOr404(String(req.params.key));
    const current = await currentPolicy(ctx.db, process);
    res.json({
      ...policyView(current),
      bounds: bounds(),
      schema: z.toJSONSchema(policySchemaOf(process, bounds()), { io: 'input', unrepresentable: 'any' }),
      links: { versions: `/processes/${process.key}/policy/versions`, change: { method: 'PUT', href: `/processes/${process.key}/policy`, scope: 'policies:write' } },
    });
  });

  router.get('/processes/:key/policy/versions', authenticate(ctx), async (req, res) => {
    assertCanRead(req);
    const process = processOr404(String(req.params.key));
    res.json({ items: (await policyVersions(ctx.db, process)).map(policyView) });
  });

  router.get('/processes/:key/policy/versions/:version', authenticate(ctx), async (req, res) => {
    assertCanRead(req);
    const process = processOr404(String(req.params.key));
    const version = Number(req.params.version);
    const row = Number.isInteger(version) ? await ctx.db.processPolicy.findUnique({ where: { process_version: { process: process.key, version } } }) : null;
    if (!row) throw new AppError('not_found', `The ${process.key} policy has no version ${String(req.params.version)}`);
    res.json(policyView(row));
  });

  router.put('/processes/:key/policy', authenticate(ctx), requireScope('policies:write'), async (req, res) => {
    const process = processOr404(String(req.params.key));
    const body = parseOr422(putPolicyBodySchema, req.body);
    const { saved, wake } = await savePolicy(ctx.db, process, body, requireIdentity(req).email, ctx.config.OPSFLOW_ALLOW_SHORT_DURATIONS);
    await wakeWebhooks(ctx, wake);
    res.status(200).json(policyView(saved));
  });

  return router;
}
