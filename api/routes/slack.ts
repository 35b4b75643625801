import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { ApprovalRequest, Run } from '../../lib/generated/prisma/client.js';
import { factsAtVersion } from '../../lib/run-facts.js';
import type { SlackApi } from '../../lib/slack.js';
import {
  approvalRequestMessage,
  parseButtonValue,
  REASON_BLOCK,
  REASON_INPUT,
  REASON_MODAL,
  reasonModal,
  requestSummaryOf,
  SLACK_ACTIONS,
} from '../../lib/slack-messages.js';
import { SlackVerificationError, verifySlackRequest } from '../../lib/slack-signature.js';
import type { Decision } from '../../processes/approval-messages.js';
import { diffFacts } from '../../processes/facts.js';
import { addLogFields } from '../../lib/log-context.js';
import { decideByLink, findApprovalWithRun, refusalFor, refusalText, runLogFields } from '../approval-service.js';
import type { ApiContext } from '../context.js';
import { inRequestLogContext } from '../route-table.js';

/** Slack is on: its client and the secret its interactions are signed with. */
export interface SlackContext {
  api: SlackApi;
  signingSecret: string;
}

/** Where the click came from, so the answer goes to the same message. */
interface ClickSite {
  userId: string;
  channel: string;
  ts: string;
}

const modalMetadata = z.object({
  requestId: z.string().min(1).max(300),
  version: z.string().regex(/^[0-9a-f]{64}$/),
  decision: z.enum(['rejected', 'changes_requested']),
  channel: z.string().min(1).max(100),
  ts: z.string().min(1).max(100),
});

const blockActions = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1).max(50) }),
  trigger_id: z.string().max(200).optional(),
  container: z.object({ channel_id: z.string().max(100).optional(), message_ts: z.string().max(100).optional() }).optional(),
  channel: z.object({ id: z.string().max(100) }).optional(),
  actions: z.array(z.object({ action_id: z.string().max(255), value: z.string().max(2000).optional() })).min(1),
});

const viewSubmission = z.object({
  type: z.literal('view_submission'),
  user: z.object({ id: z.string().min(1).max(50) }),
  view: z.object({
    callback_id: z.string().max(255),
    private_metadata: z.string().max(3000),
    state: z.object({ values: z.record(z.string(), z.record(z.string(), z.object({ value: z.string().nullish() }))) }),
  }),
});

const ACTION_DECISIONS: Record<string, Decision> = {
  [SLACK_ACTIONS.approve]: 'approved',
  [SLACK_ACTIONS.reject]: 'rejected',
  [SLACK_ACTIONS.changes]: 'changes_requested',
};
const NOT_YOURS = 'This request is not yours to decide: only its approver can decide it, and nothing was decided.';

/**
 * `POST /integrations/slack/interactions`: button clicks and reason modals from Slack. Verified on the raw body with
 * the signing secret, mapped to a person by the Slack user id, and decided through the same Update as the link
 * (channel `slack`), so the version, separation of duties and the audit entry are the link's. Slack wants an answer
 * within 3 s: the click is acknowledged first and its outcome shown by updating the message (or, for a refusal, a
 * message only the clicker sees).
 */
export function slackInteractionsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.post('/integrations/slack/interactions', express.text({ type: 'application/x-www-form-urlencoded', limit: '1mb' }), (req, res) => inRequestLogContext(req, res, async () => {
    const slack = ctx.slack;
    if (!slack) return void res.status(404).json({ error: { code: 'not_found', message: 'Slack is not configured' } });
    const raw = typeof req.body === 'string' ? req.body : '';
    try {
      verifySlackRequest(slack.signingSecret, { timestamp: req.get('x-slack-request-timestamp'), signature: req.get('x-slack-signature') }, raw);
    } catch (error) {
      if (!(error instanceof SlackVerificationError)) throw error;
      ctx.logger.warn({ reason: error.reason, ip: req.ip }, 'Slack interaction refused');
      return void res.status(401).json({ error: { code: 'unauthorized', message: error.message } });
    }
    let payload: unknown;
    try {
      payload = JSON.parse(new URLSearchParams(raw).get('payload') ?? '');
    } catch {
      return void res.status(400).json({ error: { code: 'bad_request', message: 'The body must carry a JSON payload field' } });
    }
    const type = (payload as { type?: unknown })?.type;
    if (type === 'block_actions') return onClick(ctx, slack, blockActions.safeParse(payload), res);
    if (type === 'view_submission') return onSubmission(ctx, slack, viewSubmission.safeParse(payload), res);
    res.status(200).end();
  }));
  return router;
}

/** The request, if `userId` is its approver in the directory. Either way, the interaction's log lines name its run. */
async function requestOfApprover(ctx: ApiContext, userId: string, requestId: string): Promise<(ApprovalRequest & { run: Run }) | undefined> {
  const [person, request] = await Promise.all([
    ctx.db.person.findUnique({ where: { slackUserId: userId } }),
    findApprovalWithRun(ctx.db, { id: requestId }),
  ]);
  if (request) addLogFields(runLogFields(request.run, request));
  if (!person || !request || request.kind !== 'decision' || request.approverEmail.toLowerCase() !== person.email.toLowerCase()) return undefined;
  return request;
}

async function onClick(ctx: ApiContext, slack: SlackContext, parsed: z.ZodSafeParseResult<z.infer<typeof blockActions>>, res: Response): Promise<void> {
  if (!parsed.success) return void res.status(200).end();
  const click = parsed.data;
  const action = click.actions[0]!;
  const decision = ACTION_DECISIONS[action.action_id];
  const button = parseButtonValue(action.value);
  const site: ClickSite = { userId: click.user.id, channel: click.channel?.id ?? click.container?.channel_id ?? '', ts: click.container?.message_ts ?? '' };
  if (!decision || !button) return void res.status(200).end();
  const request = await requestOfApprover(ctx, site.userId, button.requestId);
  if (!request) {
    // The approver's own message stays as it is: only the clicker hears why nothing happened.
    res.status(200).end();
    ctx.logger.warn({ slackUserId: site.userId, approvalRequestId: button.requestId }, 'Slack click by someone who is not the approver');
    return tell(ctx, slack, site, NOT_YOURS);
  }
  if (decision !== 'approved') {
    // The reason comes from a modal, opened while the click's trigger id is fresh (Slack allows 3 s).
    const metadata = JSON.stringify({ requestId: request.id, version: button.version, decision, channel: site.channel, ts: site.ts });
    try {
      await slack.api.openView(click.trigger_id ?? '', reasonModal(decision, metadata, request.stepTitle));
    } catch (error) {
      ctx.logger.warn({ err: error, approvalRequestId: request.id }, 'Slack reason modal not opened');
      res.status(200).end();
      return tell(ctx, slack, site, 'The reason form could not be opened; try again, or decide through the link in your e-mail.');
    }
    return void res.status(200).end();
  }
  res.status(200).end();
  await decideFromSlack(ctx, slack, request, site, { decision, comment: null, version: button.version });
}

async function onSubmission(ctx: ApiContext, slack: SlackContext, parsed: z.ZodSafeParseResult<z.infer<typeof viewSubmission>>, res: Response): Promise<void> {
  if (!parsed.success || parsed.data.view.callback_id !== REASON_MODAL) return void res.status(200).end();
  const { user, view } = parsed.data;
  let meta: z.infer<typeof modalMetadata>;
  try {
    meta = modalMetadata.parse(JSON.parse(view.private_metadata));
  } catch {
    return void res.status(200).end();
  }
  const reason = (view.state.values[REASON_BLOCK]?.[REASON_INPUT]?.value ?? '').trim();
  const fieldError = (message: string) => void res.json({ response_action: 'errors', errors: { [REASON_BLOCK]: message } });
  if (!reason) return fieldError('Say why: a reason is required.');
  const request = await requestOfApprover(ctx, user.id, meta.requestId);
  if (!request) {
    ctx.logger.warn({ slackUserId: user.id, approvalRequestId: meta.requestId }, 'Slack modal submitted by someone who is not the approver');
    return fieldError(NOT_YOURS);
  }
  // Closes the modal; the outcome shows on the message.
  res.status(200).end();
  await decideFromSlack(ctx, slack, request, { userId: user.id, channel: meta.channel, ts: meta.ts }, { decision: meta.decision, comment: reason.slice(0, 2000), version: meta.version });
}

/**
 * The decision through the link's path. A decision closes the message from the worker (as for every channel); a
 * stale version puts the current facts and fresh buttons on it; any other refusal is said to the clicker alone.
 */
async function decideFromSlack(
  ctx: ApiContext,
  slack: SlackContext,
  request: ApprovalRequest & { run: Run },
  site: ClickSite,
  choice: { decision: Decision; comment: string | null; version: string },
): Promise<void> {
  try {
    const { run, ...approval } = request;
    const closed = refusalFor(approval, run, new Date());
    if (closed) return await tell(ctx, slack, site, `Nothing was decided. ${refusalText(closed)}`);
    const outcome = await decideByLink(ctx, approval, { ...choice, channel: 'slack' });
    switch (outcome.kind) {
      case 'decided':
        return;
      case 'stale':
        return await showCurrentFacts(ctx, slack, approval, site, choice.version);
      case 'reason_required':
        return await tell(ctx, slack, site, 'This step needs a comment: use Reject or Request changes, or decide through the link in your e-mail.');
      case 'pending':
        return await tell(ctx, slack, site, 'Sent, but the run has not confirmed it yet; this message changes once it does.');
      default:
        return await tell(ctx, slack, site, `Nothing was decided. ${refusalText(outcome)}`);
    }
  } catch (error) {
    ctx.logger.error({ err: error, approvalRequestId: request.id }, 'Slack decision failed');
  }
}

/** The facts changed since the message was posted: say what changed and ask again on the current version. */
async function showCurrentFacts(ctx: ApiContext, slack: SlackContext, approval: ApprovalRequest, site: ClickSite, seenVersion: string): Promise<void> {
  const run = await ctx.db.run.findUniqueOrThrow({ where: { id: approval.runId } });
  const summary = requestSummaryOf(approval, run);
  const seen = await factsAtVersion(ctx.db, run.id, seenVersion);
  const changes = seen ? diffFacts(seen, summary.facts) : [];
  await slack.api.updateMessage(site.channel, site.ts, approvalRequestMessage(summary, changes.length ? changes : [{ label: 'Version', before: seenVersion.slice(0, 12), after: summary.version.slice(0, 12) }]));
  await ctx.db.slackMessage.updateMany({ where: { requestId: approval.id, closedAt: null }, data: { version: summary.version } });
}

/** A message only the clicker sees. */
async function tell(ctx: ApiContext, slack: SlackContext, site: ClickSite, text: string): Promise<void> {
  try {
    await slack.api.postEphemeral(site.channel, site.userId, text);
  } catch (error) {
    ctx.logger.warn({ err: error }, 'Slack ephemeral message not sent');
  }
}
