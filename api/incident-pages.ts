import type { Request, Response } from 'express';
import type { ApprovalRequest } from '../lib/generated/prisma/client.js';
import { findProcess } from '../processes/index.js';
import { sendResult } from './approval-service.js';
import type { ApiContext } from './context.js';
import { actOnIncident, closedBecause, findIncident, incidentOutcomeText, pagedPeople, postedStatuses, type IncidentActionKind, type IncidentOutcome, type IncidentWithRun } from './incident-service.js';
import { incidentPage } from './pages/incident.js';

interface PageState {
  notice?: string;
  error?: string;
  values?: { text?: string; summary?: string };
  errors?: { text?: string; summary?: string };
}

/** Why the link no longer acts (the incident went to someone else, or the link expired); undefined while it works. */
const deadLink = (link: ApprovalRequest, now = new Date()) =>
  link.revokedAt ? `This link no longer works: ${link.revokedReason ?? 'the incident moved on'}.` : link.expiresAt <= now ? 'This link has expired.' : undefined;

async function render(ctx: ApiContext, token: string, link: ApprovalRequest, incident: IncidentWithRun, state: PageState = {}): Promise<string> {
  const process = findProcess(incident.run.process);
  const closed = closedBecause(incident);
  const live = !deadLink(link) && !closed;
  const owner = incident.acknowledgedBy?.toLowerCase() === link.approverEmail.toLowerCase();
  return incidentPage({
    formAction: `/approvals/${encodeURIComponent(token)}`,
    processTitle: process?.title ?? incident.run.process,
    runTitle: incident.run.title,
    viewer: { name: link.approverName, email: link.approverEmail, as: link.approverRole },
    details: process ? process.describe(incident.run.input) : [],
    acknowledgeBy: incident.acknowledgeBy,
    acknowledged: incident.acknowledgedAt ? { by: incident.acknowledgedByName ?? incident.acknowledgedBy ?? 'someone', email: incident.acknowledgedBy ?? '', at: incident.acknowledgedAt } : null,
    resolved: incident.resolvedAt ? { at: incident.resolvedAt, summary: incident.resolution ?? '' } : null,
    closedReason: !incident.resolvedAt && closed ? closed.reason : undefined,
    paged: (await pagedPeople(ctx.db, incident.runId)).map((p) => ({ name: p.name, as: p.as, pagedAt: p.pagedAt })),
    statuses: await postedStatuses(ctx.db, incident.runId),
    can: { acknowledge: live && !incident.acknowledgedAt, post: live && owner, resolve: live && owner },
    values: state.values ?? {},
    errors: state.errors ?? {},
    notice: state.notice ?? (state.error ? undefined : deadLink(link)),
    error: state.error,
  });
}

const actions: readonly IncidentActionKind[] = ['acknowledge', 'status', 'resolve'];

const doneNotice: Record<IncidentActionKind, string> = {
  acknowledge: 'Acknowledged: the paging stopped, and you own this incident.',
  status: 'Posted: it goes out with the next status update.',
  resolve: 'Resolved. The stakeholders are told; your post-incident review task follows.',
};

const statusOf: Record<IncidentOutcome['kind'], number> = {
  done: 200,
  already_acknowledged: 409,
  closed: 410,
  invalid_form: 422,
  refused: 403,
  pending: 202,
  unavailable: 503,
};

/** GET of a page link: the incident as it stands (read-only once the link stopped working). */
export async function showIncidentLink(ctx: ApiContext, res: Response, token: string, link: ApprovalRequest): Promise<void> {
  const incident = await findIncident(ctx.db, link.runId);
  if (!incident) return sendResult(res, { kind: 'not_found' });
  res.type('html').send(await render(ctx, token, link, incident));
}

/** POST of a page link: acknowledge, post a status or resolve, as the link's person, while the link works. */
export async function postIncidentLink(ctx: ApiContext, req: Request, res: Response, token: string, link: ApprovalRequest): Promise<void> {
  const incident = await findIncident(ctx.db, link.runId);
  if (!incident) return sendResult(res, { kind: 'not_found' });
  const send = async (status: number, state: PageState) => void res.status(status).type('html').send(await render(ctx, token, link, (await findIncident(ctx.db, link.runId)) ?? incident, state));
  const dead = deadLink(link);
  if (dead) return send(410, { error: dead });
  const body = (req.body ?? {}) as Record<string, unknown>;
  const action = actions.find((a) => a === body.action);
  if (!action) return send(422, { error: 'Choose what to do with the incident.' });
  const values = { text: typeof body.text === 'string' ? body.text : undefined, summary: typeof body.summary === 'string' ? body.summary : undefined };
  const outcome = await actOnIncident(ctx, incident, action, { email: link.approverEmail, channel: 'link', ip: req.ip, userAgent: req.get('user-agent') }, values);
  // The Update answered after its record was written: the page shows what is now true.
  if (outcome.kind === 'done') return send(200, { notice: doneNotice[action] });
  return send(statusOf[outcome.kind], { error: incidentOutcomeText(outcome), values, ...(outcome.kind === 'invalid_form' ? { errors: outcome.errors } : {}) });
}
