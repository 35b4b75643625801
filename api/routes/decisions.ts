import { WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { ApplicationFailure } from '@temporalio/common';
import { DecisionRefusal, REASSIGN_UPDATE, type ReassignInput, type ReassignResult } from '../../processes/approval-messages.js';
import { diffFacts, type FactChange } from '../../processes/facts.js';
import { factsOf, findProcess } from '../../processes/index.js';
import { factsAtVersion } from '../../lib/run-facts.js';
import { auditDutyRefusal, decideByLink, findApprovalWithRun, refusalFor, runWithOpenRequests, type DecideOutcome } from '../approval-service.js';
import { requireIdentity } from '../auth.js';
import type { ApiContext } from '../context.js';
import { defineRoute } from '../route-table.js';
import { decidedExample, decisionBodyExample, decisionPendingExample } from '../examples.js';
import { factSchema, runStatusSchema } from '../run-views.js';

export const decisionBodySchema = z
  .object({
    requestId: z.string().min(1).optional().describe('Which open request; by default the one waiting on the key holder'),
    decision: z.enum(['approve', 'reject', 'request_changes']),
    comment: z.string().trim().max(2000).optional(),
    version: z
      .string({ error: 'required: the version of the run you decide on (GET /runs/:id gives the current one)' })
      .regex(/^[0-9a-f]{64}$/, 'must be a version as GET /runs/:id gives it (64 hex digits)')
      .describe('The version of the facts the decision is made on (GET /runs/:id `version`); a decision on any other is refused'),
  })
  .refine((b) => b.decision === 'approve' || !!b.comment, { path: ['comment'], message: 'required to reject or request changes' });

export const reassignBodySchema = z.object({
  to: z.email('must be an e-mail address'),
  reason: z.string().trim().max(500).optional(),
});

const decisionFor = { approve: 'approved', reject: 'rejected', request_changes: 'changes_requested' } as const;

/** The JSON answer for each way a decision can end: the same rules as links, as status codes. */
function decisionResponse(outcome: DecideOutcome, stale?: { currentVersion: string; changes: FactChange[] }): { status: number; body: unknown } {
  switch (outcome.kind) {
    case 'stale':
      return {
        status: 409,
        body: {
          error: {
            code: 'stale_version',
            message: 'The run changed after the version you decided on; nothing was decided. Review the changes and decide on the current version.',
            details: { yourVersion: outcome.seenVersion, ...stale },
          },
        },
      };
    case 'separation_of_duties':
      return { status: 422, body: { error: { code: 'separation_of_duties', message: outcome.message } } };
    case 'decided':
      return { status: 200, body: { requestId: outcome.result.requestId, decision: outcome.result.decision, decidedAt: new Date(outcome.result.decidedAt).toISOString() } };
    case 'already_decided':
      return { status: 409, body: { error: { code: 'conflict', message: `Already decided: ${outcome.approval.decision} by ${outcome.approval.decidedBy}` } } };
    case 'expired':
      return { status: 410, body: { error: { code: 'gone', message: 'This approval request has expired' } } };
    case 'revoked':
      return { status: 410, body: { error: { code: 'gone', message: `This approval request is no longer open: ${outcome.approval.revokedReason ?? 'revoked'}` } } };
    case 'closed':
      return { status: 409, body: { error: { code: 'conflict', message: `The run is already ${outcome.run.status}` } } };
    case 'reason_required':
      return { status: 422, body: { error: { code: 'validation_failed', message: 'A comment is required', details: { issues: [{ path: 'comment', message: 'required to reject or request changes' }] } } } };
    case 'not_found':
      return { status: 404, body: { error: { code: 'not_found', message: 'No such approval request' } } };
    case 'pending':
      return { status: 202, body: { status: 'pending', message: 'Sent; the run has not confirmed it yet. Repeating the same request is safe.' } };
    case 'unavailable':
      return { status: 503, body: { error: { code: 'unavailable', message: 'The decision could not be delivered; nothing was decided. Retry.' } } };
  }
}

/** The current version and, field by field, what changed since the version the caller decided on. */
async function staleDetails(ctx: ApiContext, runId: string, seenVersion: string) {
  const run = await ctx.db.run.findUniqueOrThrow({ where: { id: runId } });
  const process = findProcess(run.process);
  const { facts, version } = process ? factsOf(process, run.input) : { facts: [], version: '' };
  const seen = await factsAtVersion(ctx.db, runId, seenVersion);
  return { currentVersion: version, changes: seen ? diffFacts(seen, facts) : [], ...(seen ? {} : { unknownVersion: true }) };
}

const runParams = z.object({ id: z.string() });

export const openDecisionsSchema = z
  .object({
    runId: z.string(),
    title: z.string(),
    status: runStatusSchema,
    facts: z.array(factSchema),
    version: z.string().describe('Name it in POST /runs/{id}/decisions'),
    open: z.array(z.object({ requestId: z.string(), step: z.string(), stepTitle: z.string(), expiresAt: z.iso.datetime(), onBehalfOf: z.string().nullable() })),
  })
  .meta({ id: 'OpenDecisions' });

export const decidedSchema = z.object({ requestId: z.string(), decision: z.enum(['approved', 'rejected', 'changes_requested']), decidedAt: z.iso.datetime() }).meta({ id: 'Decided' });

export const myApprovalSchema = z.object({
  requestId: z.string(),
  runId: z.string(),
  runTitle: z.string(),
  process: z.string(),
  step: z.string(),
  stepTitle: z.string(),
  onBehalfOf: z.string().nullable(),
  requestedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});

export const decisionRoutes = [
  /** An approver's inbox over the API: what waits on the key's person, oldest first (the CLI's `approvals list`). */
  defineRoute({
    method: 'get',
    path: '/decisions',
    operationId: 'listMyOpenDecisions',
    tag: 'Decisions',
    summary: "The open approval requests waiting on the key's person, across runs, oldest first",
    scope: 'decisions:write',
    responses: { 200: { description: 'Open requests', schema: z.object({ items: z.array(myApprovalSchema) }) } },
    async handler(ctx, { req, res }) {
      const identity = requireIdentity(req);
      const open = await ctx.db.approvalRequest.findMany({
        where: { kind: 'decision', approverEmail: identity.email, usedAt: null, revokedAt: null, expiresAt: { gt: new Date() }, run: { status: 'running' } },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        include: { run: { select: { title: true, process: true } } },
        take: 200,
      });
      res.json({
        items: open.map((a) => ({
          requestId: a.id, runId: a.runId, runTitle: a.run.title, process: a.run.process, step: a.stepId, stepTitle: a.stepTitle,
          onBehalfOf: a.onBehalfOf, requestedAt: a.createdAt.toISOString(), expiresAt: a.expiresAt.toISOString(),
        })),
      });
    },
  }),

  /**
   * What an integration shows its user before they decide: the requests on this run waiting on the key's person,
   * the facts they decide on and the version a decision must name.
   */
  defineRoute({
    method: 'get',
    path: '/runs/:id/decisions',
    operationId: 'getOpenDecisions',
    tag: 'Decisions',
    summary: "The key holder's open requests on a run, with the facts and the version to decide on",
    scope: 'decisions:write',
    request: { params: runParams },
    responses: { 200: { description: 'Open requests (possibly none)', schema: openDecisionsSchema } },
    errors: { 404: 'No such run' },
    async handler(ctx, { req, params, res, annotate }) {
      const identity = requireIdentity(req);
      const runId = params.id;
      const found = await runWithOpenRequests(ctx.db, runId, identity.email);
      if (!found) throw new AppError('not_found', `No run ${runId}`);
      const { run, open } = found;
      annotate({ process: run.process });
      const process = findProcess(run.process);
      const { facts, version } = process ? factsOf(process, run.input) : { facts: [], version: '' };
      res.json({
        runId,
        title: run.title,
        status: run.status,
        facts,
        version,
        open: open.map((a) => ({ requestId: a.id, step: a.stepId, stepTitle: a.stepTitle, expiresAt: a.expiresAt.toISOString(), onBehalfOf: a.onBehalfOf })),
      });
    },
  }),

  /** For integrations (chat buttons, portals): the key's person decides their own open request. */
  defineRoute({
    method: 'post',
    path: '/runs/:id/decisions',
    operationId: 'decide',
    tag: 'Decisions',
    summary: "Decide the key holder's open request on a run, on the version they were shown",
    scope: 'decisions:write',
    request: {
      params: runParams,
      body: decisionBodySchema,
      bodyExample: decisionBodyExample,
    },
    responses: {
      200: { description: 'Decided', schema: decidedSchema, example: decidedExample },
      202: { description: 'Sent; the run has not confirmed it yet. Repeating the same request is safe.', schema: z.object({ status: z.literal('pending'), message: z.string() }), example: decisionPendingExample },
    },
    errors: {
      403: 'The request belongs to someone else',
      404: 'No such run or request',
      409: 'Already decided, nothing waiting, the run is closed, or a stale version (details: currentVersion and the changes)',
      410: 'The request expired or is no longer open',
      422: 'Invalid body, a missing comment, or separation of duties',
    },
    async handler(ctx, { req, params, body, res, annotate }) {
      const identity = requireIdentity(req);
      const runId = params.id;
      // The request comes with its run: one read answers both "is there such a run" and "what waits on this person".
      const approval = body.requestId
        ? await findApprovalWithRun(ctx.db, { id: body.requestId, runId, kind: 'decision' })
        : await findApprovalWithRun(ctx.db, { runId, kind: 'decision', approverEmail: identity.email, usedAt: null, revokedAt: null }, { createdAt: 'desc' });
      if (!approval) {
        if (!(await ctx.db.run.findUnique({ where: { id: runId }, select: { id: true } }))) throw new AppError('not_found', `No run ${runId}`);
        throw new AppError('conflict', `Nothing on run ${runId} is waiting on ${identity.email}`);
      }
      annotate({ process: approval.run.process, step: approval.stepId });
      if (approval.approverEmail !== identity.email) {
        throw new AppError('forbidden', `Request ${approval.id} belongs to ${approval.approverEmail}, not ${identity.email}`);
      }
      const { run, ...request } = approval;
      const refusal = refusalFor(request, run, new Date());
      const outcome = refusal ?? (await decideByLink(ctx, request, {
        decision: decisionFor[body.decision],
        comment: body.comment || null,
        version: body.version,
        channel: 'api',
        ip: req.ip,
        userAgent: req.get('user-agent'),
      }));
      const { status, body: answer } = decisionResponse(outcome, outcome.kind === 'stale' ? await staleDetails(ctx, runId, body.version) : undefined);
      res.status(status).json(answer);
    },
  }),

  /** Ops staff move an open request to someone else; the old link stops working and the new approver is mailed. */
  defineRoute({
    method: 'post',
    path: '/runs/:id/approvals/:requestId/reassign',
    operationId: 'reassignApproval',
    tag: 'Decisions',
    summary: 'Move an open approval request to another person',
    scope: 'runs:manage',
    request: { params: z.object({ id: z.string(), requestId: z.string() }), body: reassignBodySchema },
    responses: { 200: { description: 'Reassigned', schema: z.object({ oldRequestId: z.string(), newRequestId: z.string(), approverEmail: z.string() }) } },
    errors: { 404: 'No such request on the run', 409: 'Already decided, or the run is closed', 410: 'No longer open', 422: 'Unknown person, or separation of duties' },
    async handler(ctx, { req, params, body, res, annotate }) {
      const identity = requireIdentity(req);
      const runId = params.id;
      const approval = await findApprovalWithRun(ctx.db, { id: params.requestId, runId });
      if (!approval) throw new AppError('not_found', `No approval request ${params.requestId} on run ${runId}`);
      annotate({ process: approval.run.process, step: approval.stepId });
      const { run, ...request } = approval;
      const refusal = refusalFor(request, run, new Date());
      if (refusal) {
        const { status, body: answer } = decisionResponse(refusal);
        return void res.status(status).json(answer);
      }
      const target = await ctx.db.person.findUnique({ where: { email: body.to.toLowerCase() } });
      if (!target) {
        throw new AppError('validation_failed', `${body.to} is not in the directory`, { issues: [{ path: 'to', message: 'not in the directory' }] });
      }
      const input: ReassignInput = { requestId: request.id, toEmail: target.email, actorEmail: identity.email, reason: body.reason };
      try {
        const result = await ctx.temporal.workflow
          .getHandle(runId)
          .executeUpdate<ReassignResult, [ReassignInput]>(REASSIGN_UPDATE, { args: [input], updateId: `reassign:${request.id}:${target.email}` });
        res.json(result);
      } catch (error) {
        if (!(error instanceof WorkflowUpdateFailedError)) throw error;
        const cause = error.cause instanceof ApplicationFailure ? error.cause : undefined;
        if (cause?.type === DecisionRefusal.separationOfDuties) {
          await auditDutyRefusal(ctx, request, { actor: identity.email, action: 'reassign', channel: 'api', ip: req.ip, details: { to: target.email } }, cause.message);
          throw new AppError('validation_failed', `Cannot reassign to ${target.name}: ${cause.message}`, {
            issues: [{ path: 'to', message: cause.message }],
            rule: 'separation of duties',
          });
        }
        throw new AppError('conflict', error.cause?.message ?? 'The request can no longer be reassigned');
      }
    },
  }),
];
