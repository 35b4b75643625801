import { Prisma } from '../lib/db.js';
import { approvalRequestMessage, closedRequestMessage, requestSummaryOf, type RequestSummary, type SlackMessage } from '../lib/slack-messages.js';
import type { ActivityDeps } from './deps.js';
import { personByEmail } from './records.js';

/**
 * Slack is a second way to the same decision: the e-mail has gone out before these run, so a Slack failure is
 * logged and the activity carries on (the approver still has the link) rather than holding up the step.
 */

/** The approver's Slack user: from the directory, else looked up by e-mail and kept there. */
async function slackUserOf(deps: ActivityDeps, email: string): Promise<string | undefined> {
  const person = await personByEmail(deps.db, email);
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

/**
 * Posts a message about a link (an approval request, an incident page) to its person once: a retry finds the record
 * of the first post and posts nothing. `version` is what the message's buttons decide on, if it has any.
 */
export async function postToSlackOnce(deps: ActivityDeps, requestId: string, email: string, message: () => SlackMessage, version = ''): Promise<void> {
  if (!deps.slack) return;
  try {
    if (await deps.db.slackMessage.findUnique({ where: { requestId } })) return;
    const userId = await slackUserOf(deps, email);
    if (!userId) return;
    const posted = await deps.slack.postMessage(userId, message());
    await deps.db.slackMessage.create({ data: { requestId, slackUserId: userId, channel: posted.channel, ts: posted.ts, version } });
  } catch (error) {
    deps.logger.warn({ err: error, requestId }, 'message not posted to Slack');
  }
}

/** Posts the request to its approver once, with its facts and buttons. */
export async function postRequestToSlack(deps: ActivityDeps, requestId: string, extra: Pick<RequestSummary, 'escalatedFrom' | 'onBehalfOf'>): Promise<void> {
  if (!deps.slack) return;
  try {
    const { run, ...approval } = await deps.db.approvalRequest.findUniqueOrThrow({ where: { id: requestId }, include: { run: true } });
    const summary = requestSummaryOf(approval, run, extra);
    await postToSlackOnce(deps, requestId, approval.approverEmail, () => approvalRequestMessage(summary), summary.version);
  } catch (error) {
    deps.logger.warn({ err: error, requestId }, 'approval request not posted to Slack');
  }
}

/** Replaces a posted message (its buttons gone) with how its link ended; nothing when it was never posted or is closed. */
export async function closeSlackMessageWith(deps: ActivityDeps, requestId: string, closed: (version: string) => SlackMessage | Promise<SlackMessage>): Promise<void> {
  if (!deps.slack) return;
  try {
    const message = await deps.db.slackMessage.findUnique({ where: { requestId } });
    if (!message || message.closedAt) return;
    await deps.slack.updateMessage(message.channel, message.ts, await closed(message.version));
    await deps.db.slackMessage.update({ where: { requestId }, data: { closedAt: new Date() } });
  } catch (error) {
    deps.logger.warn({ err: error, requestId }, 'Slack message not updated');
  }
}

/** Replaces the buttons of a request's message with how it ended (decided, withdrawn, expired). */
export function closeSlackMessage(deps: ActivityDeps, requestId: string, outcome: string): Promise<void> {
  return closeSlackMessageWith(deps, requestId, async (version) => {
    const { run, ...approval } = await deps.db.approvalRequest.findUniqueOrThrow({ where: { id: requestId }, include: { run: true } });
    return closedRequestMessage({ ...requestSummaryOf(approval, run), version }, outcome);
  });
}
