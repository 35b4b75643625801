import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../lib/db.js';
import type { Incident, Run } from '../lib/generated/prisma/client.js';
import {
  ACKNOWLEDGE_INCIDENT_UPDATE,
  IncidentRefusal,
  PAGE_LINK_KIND,
  POST_INCIDENT_STATUS_UPDATE,
  RESOLVE_INCIDENT_UPDATE,
  type IncidentChannel,
  type IncidentPerson,
  type IncidentState,
} from '../processes/incident-messages.js';
import type { ApiContext } from './context.js';
import { closedOrUnavailable, executeRunUpdate, notDoneText, runNoLongerActs, type RunActor, type UnansweredAction } from './run-updates.js';

/**
 * Every channel's way to act on an incident (a page link's page, the JSON API): acknowledge it, post its status,
 * resolve it. What a person typed is checked here; the action goes to the run as an Update, whose validator decides
 * (who was paged, who owns it). The answer says what happened, in terms each channel shows.
 */

export type IncidentWithRun = Incident & { run: Run };

export type IncidentActor = RunActor<IncidentChannel>;

export type IncidentActionKind = 'acknowledge' | 'status' | 'resolve';

export type IncidentOutcome =
  | { kind: 'done'; state: IncidentState }
  /** Someone acknowledged first (an earlier acknowledgement of the same person included): who. */
  | { kind: 'already_acknowledged'; by: IncidentPerson }
  /** What was typed has errors, by field (`text`, `summary`); nothing was sent to the run. */
  | { kind: 'invalid_form'; errors: Record<string, string> }
  | { kind: 'refused'; refusal: IncidentRefusal; message: string }
  /** Resolved (or its run is over), not confirmed in time, or not deliverable. */
  | UnansweredAction;

export function findIncident(db: Db, runId: string): Promise<IncidentWithRun | null> {
  return db.incident.findUnique({ where: { runId }, include: { run: true } });
}

/** Why nobody can act on the incident any more, from the records; undefined while it is open. */
export function closedBecause(incident: IncidentWithRun): Extract<IncidentOutcome, { kind: 'closed' }> | undefined {
  if (incident.resolvedAt) return { kind: 'closed', reason: `it was resolved by ${incident.resolvedBy ?? 'its owner'}` };
  const ended = runNoLongerActs(incident.run);
  return ended ? { kind: 'closed', reason: ended } : undefined;
}

/** The people paged so far, in the order they were paged, and whether their link still works. */
export async function pagedPeople(db: Db, runId: string) {
  const links = await db.approvalRequest.findMany({ where: { runId, kind: PAGE_LINK_KIND }, orderBy: [{ seat: 'asc' }, { createdAt: 'asc' }] });
  return links.map((l) => ({ email: l.approverEmail, name: l.approverName, as: l.approverRole, level: l.seat, pagedAt: l.createdAt, linkWorks: !l.revokedAt && !l.usedAt }));
}

/** The statuses the owner posted, oldest first, from the audit. */
export async function postedStatuses(db: Db, runId: string): Promise<Array<{ text: string; by: string; at: Date }>> {
  const entries = await db.auditEntry.findMany({ where: { runId, action: 'incident.status_posted' }, orderBy: { id: 'asc' } });
  return entries.map((e) => ({ text: String((e.details as { text?: unknown }).text ?? ''), by: e.actor, at: e.at }));
}

const limits = { text: 2000, summary: 4000 } as const;

/** What was typed, checked: the field's error, or nothing. */
function typedError(action: IncidentActionKind, value: string): Record<string, string> | undefined {
  if (action === 'status') {
    if (!value) return { text: 'Write the status: the stakeholders read it in the next update' };
    if (value.length > limits.text) return { text: `Keep it under ${limits.text} characters` };
  }
  if (action === 'resolve') {
    if (value.length < 10) return { summary: 'Say how it was resolved, in a sentence or two' };
    if (value.length > limits.summary) return { summary: `Keep it under ${limits.summary} characters` };
  }
  return undefined;
}

/**
 * Acknowledges, posts a status or resolves as `actor`. The acknowledgement's and the resolution's Update ids are the
 * run's own, so a double submit (or two people at once) counts once and the nonce tells whose won; a status's id is
 * its text's, so a double submit posts it once.
 */
export async function actOnIncident(ctx: ApiContext, incident: IncidentWithRun, action: IncidentActionKind, actor: IncidentActor, typed: { text?: string; summary?: string } = {}): Promise<IncidentOutcome> {
  const closed = closedBecause(incident);
  if (closed) return closed;
  const base = { actorEmail: actor.email, channel: actor.channel, ip: actor.ip, userAgent: actor.userAgent?.slice(0, 500) };
  const value = (action === 'status' ? typed.text : typed.summary)?.trim() ?? '';
  const errors = typedError(action, value);
  if (errors) return { kind: 'invalid_form', errors };
  const runId = incident.runId;
  if (action === 'status') {
    const digest = createHash('sha256').update(`${actor.email.toLowerCase()}\n${value}`).digest('hex').slice(0, 24);
    return sendUpdate(ctx, incident, POST_INCIDENT_STATUS_UPDATE, { ...base, text: value }, `${runId}:status:${digest}`);
  }
  const nonce = randomUUID();
  const [update, arg] = action === 'acknowledge' ? [ACKNOWLEDGE_INCIDENT_UPDATE, { ...base, nonce }] : [RESOLVE_INCIDENT_UPDATE, { ...base, summary: value, nonce }];
  const outcome = await sendUpdate(ctx, incident, update, arg, `${runId}:${action}`);
  if (outcome.kind !== 'done' || outcome.state.nonce === nonce) return outcome;
  // An earlier acknowledgement (or resolution) with the same Update id answered: say whose.
  if (action === 'acknowledge') return { kind: 'already_acknowledged', by: outcome.state.acknowledgedBy ?? { email: '', name: 'someone' } };
  return { kind: 'closed', reason: 'it was resolved already' };
}

async function sendUpdate(ctx: ApiContext, incident: IncidentWithRun, update: string, arg: unknown, updateId: string): Promise<IncidentOutcome> {
  const answer = await executeRunUpdate<IncidentState>(ctx, incident.runId, update, arg, updateId);
  if (answer.kind === 'done') return { kind: 'done', state: answer.result };
  if (answer.kind === 'pending') return answer;
  const cause = answer.kind === 'refused' ? answer.cause : undefined;
  if (cause?.type === IncidentRefusal.alreadyAcknowledged) return { kind: 'already_acknowledged', by: (cause.details?.[0] ?? { email: '', name: 'someone' }) as IncidentPerson };
  if (cause?.type === IncidentRefusal.resolved) return { kind: 'closed', reason: 'it was resolved' };
  if (cause?.type && (Object.values(IncidentRefusal) as string[]).includes(cause.type)) return { kind: 'refused', refusal: cause.type as IncidentRefusal, message: cause.message };
  // Closed meanwhile (the run ended): say so from the records, or from the run's refusal.
  return closedOrUnavailable(ctx, answer, () => findIncident(ctx.db, incident.runId), closedBecause, { runId: incident.runId });
}

/** One line saying why an action did not happen, for pages and JSON errors alike. */
export function incidentOutcomeText(outcome: Exclude<IncidentOutcome, { kind: 'done' }>): string {
  if (outcome.kind === 'already_acknowledged') return `${outcome.by.name} (${outcome.by.email}) already acknowledged this incident.`;
  return notDoneText('incident', outcome);
}
