import { Prisma } from '../lib/db.js';
import { approvalRequestMessage, closedRequestMessage, requestSummaryOf, type RequestSummary } from '../lib/slack-messages.js';
import type { ActivityDeps } from './deps.js';

/**
 * Slack is a second way to the same decision: the e-mail has gone out before these run, so a Slack failure is
 * logged and the activity carries on (the approver still has the link) rather than holding up the step.
 */

/** The approver's Slack user: from the directory, else looked up by e-mail and kept there. */
async function slackUserOf(deps: ActivityDeps, email: string): Promise<string | undefined> {
  const person = await deps.db.person.findUnique({ where: { email: email.toLowerCase() } });
  if (!person) return undefined;
  if (person.slackUserId) return person.slackUserId;
  const found = await deps.slack!.lookUpUserByEmail(person.email);
  if (!found) return undefined;
  try {
    await deps.db.person.updateMany({ where: { email: person.email, slackUserId: null }, data: { slackUserId: found } });
  } catch (error) {
    // Someone else in the directory holds that Slack user: clicks could not be told apart, so post nothing.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      deps.logger.warn({ email: person.email }, 'Slack user already belongs to another person in the directory');
      return undefined;
    }
    throw error;
  }
  return found;
}

/** Posts the request to its approver once: a retry finds the record of the first post and posts nothing. */
export async function postRequestToSlack(deps: ActivityDeps, requestId: string, extra: Pick<RequestSummary, 'escalatedFrom' | 'onBehalfOf'>): Promise<void> {
  if (!deps.slack) return;
  try {
    if (await deps.db.slackMessage.findUnique({ where: { requestId } })) return;
    const { run, ...approval } = await deps.db.approvalRequest.findUniqueOrThrow({ where: { id: requestId }, include: { run: true } });
    const userId = await slackUserOf(deps, approval.approverEmail);
    if (!userId) return;
    const summary = requestSummaryOf(approval, run, extra);
    const posted = await deps.slack.postMessage(userId, approvalRequestMessage(summary));
    await deps.db.slackMessage.create({ data: { requestId, slackUserId: userId, channel: posted.channel, ts: posted.ts, version: summary.version } });
  } catch (error) {
    deps.logger.warn({ err: error, requestId }, 'approval request not posted to Slack');
  }
}

/** Replaces the buttons of a request's message with how it ended; nothing when it was never posted or is closed. */
export async function closeSlackMessage(deps: ActivityDeps, requestId: string, outcome: string): Promise<void> {
  if (!deps.slack) return;
  try {
    const message = await deps.db.slackMessage.findUnique({ where: { requestId }, include: { request: { include: { run: true } } } });
    if (!message || message.closedAt) return;
    const { run, ...approval } = message.request;
    const summary = { ...requestSummaryOf(approval, run), version: message.version };
    await deps.slack.updateMessage(message.channel, message.ts, closedRequestMessage(summary, outcome));
    await deps.db.slackMessage.update({ where: { requestId }, data: { closedAt: new Date() } });
  } catch (error) {
    deps.logger.warn({ err: error, requestId }, 'Slack message not updated');
  }
}
