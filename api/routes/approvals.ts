import express, { Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { diffFacts, type Fact } from '../../processes/facts.js';
import { factsOf, findProcess } from '../../processes/index.js';
import { materialChangesBetween, type ControlsPolicy } from '../../processes/controls.js';
import { changesSinceStepApproval, factsAtVersion, inputsAtVersions } from '../../lib/run-facts.js';
import { runHealth } from '../../lib/run-health.js';
import { approvalPage } from '../pages/approval.js';
import { decideByLink, lookUpLink, refusalPage, sendResult, type LinkLookup } from '../approval-service.js';
import type { ApiContext } from '../context.js';
import { inRequestLogContext } from '../route-table.js';
import type { ApprovalRequest, Run } from '../../lib/generated/prisma/client.js';
import { renderExternalForm, submitExternalForm } from '../external-form.js';
import { renderRevisionPage, submitRevision } from '../revision-form.js';
import { postTaskLink, showTaskLink } from '../task-pages.js';
import { postIncidentLink, showIncidentLink } from '../incident-pages.js';
import { PAGE_LINK_KIND } from '../../processes/incident-messages.js';

/** A link of this kind, used or not: its page shows its task or incident as it stands (read-only once the link stopped working). */
const linkOfKind = (link: LinkLookup, kind: string) => ((link.ok || link.kind !== 'not_found') && link.approval.kind === kind ? link.approval : undefined);

const decisionFormSchema = z.object({
  decision: z.enum(['approve', 'reject', 'request_changes'], { error: 'Choose Approve, Request changes or Reject' }),
  comment: z.string().max(2000, 'Keep the comment under 2000 characters').optional().default(''),
  version: z.string().regex(/^[0-9a-f]{64}$/, 'This page is out of date: review the request below and decide again').optional(),
});

const decisionFor = { approve: 'approved', reject: 'rejected', request_changes: 'changes_requested' } as const;

async function renderApprovalPage(
  ctx: ApiContext,
  token: string,
  approval: ApprovalRequest,
  run: Run,
  extra: { error?: { message: string; fieldErrors?: Record<string, string> }; comment?: string; seenVersion?: string } = {},
): Promise<string> {
  const process = findProcess(run.process);
  const { facts, version } = process ? factsOf(process, run.input) : { facts: [], version: '' };
  const earlier = await ctx.db.approvalRequest.findMany({
    where: { runId: run.id, kind: 'decision', decision: { not: null } },
    orderBy: { usedAt: 'asc' },
  });
  // An approval stands after an edit unless the edit was material under the run's policy (its start-time one):
  // the same rule, on the same inputs, by which the workflow asked its step again (workflows/approval-chain.ts).
  const materialRules = (run.policy as Partial<ControlsPolicy> | null)?.materialChanges;
  const outdated = earlier.flatMap((a) => (a.decidedVersion && a.decidedVersion !== version ? [a.decidedVersion] : []));
  const inputAt = await inputsAtVersions(ctx.db, run.id, outdated);
  const superseded = (a: ApprovalRequest): boolean | undefined => {
    const before = a.decidedVersion ? inputAt.get(a.decidedVersion) : undefined;
    if (a.decision !== 'approved' || !materialRules || before === undefined) return undefined;
    return materialChangesBetween(materialRules, before, run.input).length > 0;
  };
  return approvalPage({
    token,
    processTitle: process?.title ?? run.process,
    runTitle: run.title,
    stepTitle: approval.stepTitle,
    approverName: approval.approverName,
    requester: { name: run.requesterName, email: run.requesterEmail },
    expiresAt: approval.expiresAt,
    details: facts,
    version,
    changes: await changesToShow(ctx, approval, run.id, facts, version, extra.seenVersion),
    history: earlier.map((a) => ({
      stepTitle: a.stepTitle,
      approverName: a.approverName,
      decision: a.decision as 'approved' | 'rejected' | 'changes_requested',
      comment: a.comment,
      decidedAt: a.usedAt ?? a.createdAt,
      version: a.decidedVersion,
      changedSince: a.factsSnapshot && a.decidedVersion !== version ? diffFacts(a.factsSnapshot as unknown as Fact[], facts).map((c) => c.label) : undefined,
      superseded: superseded(a),
    })),
    error: extra.error,
    values: { comment: extra.comment },
  });
}

/** What changed since the version the approver's page showed (a stale post), or since this step was approved. */
async function changesToShow(ctx: ApiContext, approval: ApprovalRequest, runId: string, facts: Fact[], version: string, seenVersion?: string) {
  if (seenVersion !== undefined && seenVersion !== version) {
    const seen = seenVersion ? await factsAtVersion(ctx.db, runId, seenVersion) : undefined;
    return { kind: 'stale' as const, items: seen ? diffFacts(seen, facts) : [], unknownVersion: !seen };
  }
  const sinceApproval = await changesSinceStepApproval(ctx.db, runId, approval.stepId, facts);
  return sinceApproval.length ? { kind: 'since_approval' as const, items: sinceApproval } : undefined;
}


/**
 * Approval links. GET only shows (mail scanners and previews open links); POST decides. Rate-limited because
 * these routes are public.
 */
export function approvalsRouter(ctx: ApiContext, options: { rateLimitPerMinute: number }): Router {
  const router = Router();
  router.use(
    '/approvals',
    // Whose X-Forwarded-For counts is TRUST_PROXY's decision (app.ts); the limiter need not warn about the header.
    rateLimit({ windowMs: 60_000, limit: options.rateLimitPerMinute, standardHeaders: 'draft-8', legacyHeaders: false, validate: { xForwardedForHeader: false } }),
  );

  /** A run whose workflow task keeps failing applies nothing: say so rather than take a decision that will not land. */
  const stuckPage = async (link: { approval: ApprovalRequest; run: Run }) =>
    (await runHealth(ctx.temporal, link.run.id)).status === 'stuck' ? ({ kind: 'stuck', runTitle: link.run.title, stepTitle: link.approval.stepTitle } as const) : undefined;

  router.get('/approvals/:token', (req, res) => inRequestLogContext(req, res, async () => {
    res.setHeader('Cache-Control', 'no-store');
    const link = await lookUpLink(ctx, req.params.token);
    const taskLink = linkOfKind(link, 'task');
    if (taskLink) return showTaskLink(ctx, res, req.params.token, taskLink);
    const pageLink = linkOfKind(link, PAGE_LINK_KIND);
    if (pageLink) return showIncidentLink(ctx, res, req.params.token, pageLink);
    if (!link.ok) return sendResult(res, refusalPage(link));
    const stuck = await stuckPage(link);
    if (stuck) return sendResult(res, stuck);
    if (link.approval.kind === 'revision') {
      const page = await renderRevisionPage(ctx, req.params.token, link.approval, link.run, link.run.input as Record<string, unknown>);
      return void res.type('html').send(page);
    }
    if (link.approval.kind === 'form') return void res.type('html').send(renderExternalForm(req.params.token, link.approval, link.run, {}));
    res.type('html').send(await renderApprovalPage(ctx, req.params.token, link.approval, link.run));
  }));

  router.post('/approvals/:token', express.urlencoded({ extended: false, limit: '20kb' }), (req, res) => inRequestLogContext(req, res, async () => {
    res.setHeader('Cache-Control', 'no-store');
    const token = req.params.token;
    const link = await lookUpLink(ctx, token);
    const taskLink = linkOfKind(link, 'task');
    if (taskLink) return postTaskLink(ctx, req, res, token, taskLink);
    const pageLink = linkOfKind(link, PAGE_LINK_KIND);
    if (pageLink) return postIncidentLink(ctx, req, res, token, pageLink);
    if (!link.ok) return sendResult(res, refusalPage(link));
    // The page (GET) asked Temporal a moment ago; the post reads the run's last health sweep (stuckSince) instead of
    // asking again, so a decision costs no extra round trip. Only a run the sweep found stuck is asked again (it may
    // have recovered since: then it takes the decision). A run that got stuck since the sweep takes the decision when
    // it recovers (the answer says sent, not yet confirmed; sending again is safe).
    const stuck = link.run.stuckSince ? await stuckPage(link) : undefined;
    if (stuck) return sendResult(res, stuck);
    if (link.approval.kind === 'revision') return submitRevision(ctx, req, res, token, link.approval, link.run);
    if (link.approval.kind === 'form') return submitExternalForm(ctx, req, res, token, link.approval, link.run);

    const form = decisionFormSchema.safeParse(req.body ?? {});
    const comment = typeof req.body?.comment === 'string' ? req.body.comment : '';
    const rerender = async (fieldErrors: Record<string, string>) =>
      res
        .status(422)
        .type('html')
        .send(await renderApprovalPage(ctx, token, link.approval, link.run, { error: { message: 'Please correct the form.', fieldErrors }, comment }));

    if (!form.success) {
      const fieldErrors = Object.fromEntries(form.error.issues.map((i) => [String(i.path[0] ?? 'decision'), i.message]));
      return rerender(fieldErrors);
    }
    // A page from before decision versions (or a hand-made post) names none: show the current version to decide on.
    if (!form.data.version) return rerender({ version: 'This page is out of date: review the request below and decide again.' });
    const trimmed = form.data.comment.trim();
    if (form.data.decision === 'reject' && !trimmed) return rerender({ comment: 'A reason is required to reject.' });
    if (form.data.decision === 'request_changes' && !trimmed) return rerender({ comment: 'Say what should change.' });

    const outcome = await decideByLink(ctx, link.approval, {
      decision: decisionFor[form.data.decision],
      comment: trimmed || null,
      version: form.data.version,
      ip: req.ip,
      userAgent: req.get('user-agent'),
    });
    if (outcome.kind === 'reason_required') return rerender({ comment: 'A comment is required to reject or request changes.' });
    if (outcome.kind === 'stale') {
      // Reload: the run may have changed again meanwhile; the page is rendered from what the records say now.
      const fresh = await lookUpLink(ctx, token);
      if (!fresh.ok) return sendResult(res, refusalPage(fresh));
      return void res.status(409).type('html').send(await renderApprovalPage(ctx, token, fresh.approval, fresh.run, { comment, seenVersion: outcome.seenVersion }));
    }
    if (outcome.kind === 'decided') {
      return sendResult(res, {
        kind: outcome.result.decision,
        runTitle: link.run.title,
        stepTitle: link.approval.stepTitle,
        decision: outcome.result.decision,
        decidedBy: link.approval.approverName,
        decidedAt: new Date(outcome.result.decidedAt),
      });
    }
    sendResult(res, refusalPage(outcome));
  }));

  return router;
}
