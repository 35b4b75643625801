import { normaliseForDisplay } from './display-text.js';
import type { Fact, FactChange } from '../processes/facts.js';
import { shortVersion } from '../processes/facts.js';
import { factsOf, findProcess } from '../processes/index.js';
import type { ApprovalRequest, Run } from './generated/prisma/client.js';

/**
 * The Block Kit an approver sees in Slack: pure functions of what the request's e-mail shows, so the worker (which
 * posts and closes messages) and the API (which answers clicks) build the same message.
 */
export const SLACK_ACTIONS = { approve: 'opsflow_approve', reject: 'opsflow_reject', changes: 'opsflow_changes' } as const;
export type SlackAction = (typeof SLACK_ACTIONS)[keyof typeof SLACK_ACTIONS];
/** The reason modal's callback id, and its one input. */
export const REASON_MODAL = 'opsflow_reason';
export const REASON_BLOCK = 'reason';
export const REASON_INPUT = 'reason_input';

type Block = Record<string, unknown>;
export interface SlackMessage {
  /** The notification and screen-reader text; the blocks are what is shown. */
  text: string;
  blocks: Block[];
}

export interface RequestSummary {
  requestId: string;
  processTitle: string;
  runTitle: string;
  stepTitle: string;
  requesterName: string;
  facts: Fact[];
  /** The version the buttons decide on (processes/facts.ts). */
  version: string;
  expiresAt: Date;
  escalatedFrom?: string;
  onBehalfOf?: string;
}

/** What a request's message shows, from its row and its run as they are now (the current facts and version). */
export function requestSummaryOf(approval: ApprovalRequest, run: Run, extra: Pick<RequestSummary, 'escalatedFrom' | 'onBehalfOf'> = {}): RequestSummary {
  const process = findProcess(run.process);
  const { facts, version } = process ? factsOf(process, run.input) : { facts: [], version: '' };
  return {
    requestId: approval.id,
    processTitle: process?.title ?? run.process,
    runTitle: run.title,
    stepTitle: approval.stepTitle,
    requesterName: run.requesterName,
    facts,
    version,
    expiresAt: approval.expiresAt,
    ...extra,
  };
}

/**
 * Everything a requester typed goes through this into mrkdwn: normalised as on pages and in mails (bidi controls
 * shown, invisible characters removed: lib/display-text.ts), then the three characters Slack's mrkdwn needs escaped.
 */
export function escapeMrkdwn(text: string): string {
  return normaliseForDisplay(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `<request id>|<version>`: what each button carries, so a click names the version its message showed. */
export function buttonValue(requestId: string, version: string): string {
  return `${requestId}|${version}`;
}

export function parseButtonValue(value: unknown): { requestId: string; version: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^([^|]{1,300})\|([0-9a-f]{64})$/.exec(value);
  return match ? { requestId: match[1]!, version: match[2]! } : undefined;
}

const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const utc = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
/** Slack caps a section's text at 3,000 characters and a field at 2,000. */
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function factBlocks(facts: Fact[]): Block[] {
  // Ten fields per section at most (Slack's limit); a long value (a justification) gets a section of its own.
  const blocks: Block[] = [];
  let fields: Block[] = [];
  const flush = () => {
    if (fields.length) blocks.push({ type: 'section', fields });
    fields = [];
  };
  for (const fact of facts) {
    const text = `*${escapeMrkdwn(fact.label)}*\n${escapeMrkdwn(fact.value)}`;
    if (fact.value.length > 80 || fact.value.includes('\n')) {
      flush();
      blocks.push(section(clip(text, 3000)));
      continue;
    }
    fields.push({ type: 'mrkdwn', text: clip(text, 2000) });
    if (fields.length === 10) flush();
  }
  flush();
  return blocks;
}

function headerBlocks(request: RequestSummary): Block[] {
  const about = [
    `*${escapeMrkdwn(request.runTitle)}*: ${escapeMrkdwn(request.processTitle)}, requested by ${escapeMrkdwn(request.requesterName)}`,
    ...(request.escalatedFrom ? [`Escalated to you from ${escapeMrkdwn(request.escalatedFrom)}.`] : []),
    ...(request.onBehalfOf ? [`You hold this for ${escapeMrkdwn(request.onBehalfOf)}, who is away.`] : []),
  ];
  return [{ type: 'header', text: { type: 'plain_text', text: clip(normaliseForDisplay(`Approval needed: ${request.stepTitle}`), 150) } }, section(about.join('\n'))];
}

function changesBlock(changes: FactChange[]): Block {
  const lines = changes.map((c) => `• *${escapeMrkdwn(c.label)}*: ${c.before === null ? '(new)' : `~${escapeMrkdwn(c.before)}~`} → ${c.after === null ? '(removed)' : escapeMrkdwn(c.after)}`);
  return section(clip(`:warning: *The request changed since this message was posted; nothing was decided.* Decide on the current facts:\n${lines.join('\n')}`, 3000));
}

/** The request with its facts, version and Approve / Reject / Request changes; `changes` when the facts moved since. */
export function approvalRequestMessage(request: RequestSummary, changes?: FactChange[]): SlackMessage {
  const value = buttonValue(request.requestId, request.version);
  const button = (text: string, actionId: SlackAction, style?: 'primary' | 'danger'): Block => ({
    type: 'button',
    text: { type: 'plain_text', text },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  });
  return {
    text: normaliseForDisplay(`Approval needed: ${request.runTitle} (${request.stepTitle})`),
    blocks: [
      ...headerBlocks(request),
      ...(changes?.length ? [changesBlock(changes)] : []),
      ...factBlocks(request.facts),
      context(`Version \`${shortVersion(request.version)}\` · open until ${utc(request.expiresAt)}`),
      {
        type: 'actions',
        block_id: 'decision',
        elements: [button('Approve', SLACK_ACTIONS.approve, 'primary'), button('Reject', SLACK_ACTIONS.reject, 'danger'), button('Request changes', SLACK_ACTIONS.changes)],
      },
    ],
  };
}

/** How the request ended, in place of the buttons: decided (by whom, how), withdrawn, expired. */
export function closedRequestMessage(request: RequestSummary, outcome: string): SlackMessage {
  return {
    text: normaliseForDisplay(`${request.runTitle} (${request.stepTitle}): ${outcome}`),
    blocks: [
      ...headerBlocks(request).slice(1),
      ...factBlocks(request.facts),
      section(clip(escapeMrkdwn(outcome), 3000)),
      context(`Version \`${shortVersion(request.version)}\``),
    ],
  };
}

const DECISION_WORDS = { approved: 'Approved', rejected: 'Rejected', changes_requested: 'Changes requested' } as const;

/** "Approved by Morgan Lee via Slack on 2026-12-02 10:15 UTC: looks right" */
export function decisionOutcome(decision: { decision: keyof typeof DECISION_WORDS; decidedBy: string; channel: string; decidedAt: Date; comment?: string | null }): string {
  const how = decision.channel === 'policy' ? 'by the policy at the deadline' : `by ${decision.decidedBy} via ${decision.channel === 'slack' ? 'Slack' : decision.channel}`;
  const icon = decision.decision === 'approved' ? ':white_check_mark:' : decision.decision === 'rejected' ? ':x:' : ':leftwards_arrow_with_hook:';
  return `${icon} ${DECISION_WORDS[decision.decision]} ${how} on ${utc(decision.decidedAt)}${decision.comment ? `: ${decision.comment}` : ''}`;
}

/** The modal Reject and Request changes open: one required reason; `metadata` carries which request and version. */
export function reasonModal(kind: 'rejected' | 'changes_requested', metadata: string, stepTitle: string): Record<string, unknown> {
  const rejecting = kind === 'rejected';
  return {
    type: 'modal',
    callback_id: REASON_MODAL,
    private_metadata: metadata,
    title: { type: 'plain_text', text: rejecting ? 'Reject' : 'Request changes' },
    submit: { type: 'plain_text', text: rejecting ? 'Reject' : 'Send' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(escapeMrkdwn(clip(stepTitle, 500))),
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: { type: 'plain_text', text: rejecting ? 'Why are you rejecting it?' : 'What should change?' },
        element: { type: 'plain_text_input', action_id: REASON_INPUT, multiline: true, min_length: 1, max_length: 2000 },
      },
    ],
  };
}

/** What an incident page's Slack message shows: the incident's facts and the person's own page link. */
export interface IncidentPageSummary {
  runTitle: string;
  /** Why this person is paged ("on call for supply", "head of supply"). */
  as: string;
  acknowledgeWithin: string;
  escalatedFrom: string[];
  facts: Fact[];
  /** The person's page link (the same token as their mail): acknowledging is a POST on that page. */
  link: string;
}

/** A page: who is asked and why, the facts, and the link to acknowledge (no buttons: the page is the one place to act). */
export function incidentPageMessage(page: IncidentPageSummary): SlackMessage {
  const why = page.escalatedFrom.length
    ? `Nobody acknowledged in time (${escapeMrkdwn(page.escalatedFrom.join(', '))}): paged to you as ${escapeMrkdwn(page.as)}.`
    : `You are paged as ${escapeMrkdwn(page.as)}.`;
  return {
    text: normaliseForDisplay(`Incident: ${page.runTitle}: acknowledge within ${page.acknowledgeWithin}`),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(normaliseForDisplay(`Incident: ${page.runTitle}`), 150) } },
      section(why),
      ...factBlocks(page.facts),
      section(`<${page.link}|Open the incident to acknowledge it> within ${escapeMrkdwn(page.acknowledgeWithin)}; whoever acknowledges first owns it.`),
    ],
  };
}

/** The page's message once it is over: who acknowledged it (or why it closed), in place of the link. */
export function closedIncidentPageMessage(page: Pick<IncidentPageSummary, 'runTitle' | 'facts'>, outcome: string): SlackMessage {
  return {
    text: normaliseForDisplay(`Incident: ${page.runTitle}: ${outcome}`),
    blocks: [section(`*${escapeMrkdwn(page.runTitle)}*`), ...factBlocks(page.facts), section(clip(escapeMrkdwn(outcome), 3000))],
  };
}
