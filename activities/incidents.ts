import { formatUtc } from '../processes/format.js';
import { ACKNOWLEDGE_STEP, RESPOND_STEP } from '../processes/incident-flow.js';
import { pageLinkId, PAGE_LINK_KIND, type IncidentChannel, type IncidentPerson } from '../processes/incident-messages.js';
import { findProcess } from '../processes/index.js';
import { extendRunInput } from '../lib/run-record.js';
import { closedIncidentPageMessage, incidentPageMessage } from '../lib/slack-messages.js';
import { recordLinkRequest } from './approvals.js';
import type { ActivityDeps } from './deps.js';
import { sendEmailOnce } from './email.js';
import { incidentPageEmail, incidentUpdateEmail, type IncidentUpdateEmailProps } from './incident-emails.js';
import { approverCandidates, writeAudit, type Approver } from './records.js';
import { closeSlackMessageWith, postToSlackOnce } from './slack.js';

/** Page links close with the incident (acknowledged by someone else, or the run ends); this only bounds a lost one. */
const PAGE_LINK_GRACE_MS = 90 * 86_400_000;

export interface OpenIncidentRecord {
  runId: string;
  area: string;
  severity: string;
  openedAt: number;
  acknowledgeBy: number;
  acknowledgeWithin: string;
  statusEvery: string;
  stakeholders: string[];
}

export interface PageRecord {
  runId: string;
  stepId: string;
  /** 0: the on-call owner; 1, 2, …: the escalation chain. */
  level: number;
  /** Why they are asked ("on call for supply", "head of supply"). */
  as: string;
  /** Who the level named, for the audit when nobody could be paged. */
  ref: string;
  /** The person paged; null when the level names nobody who can be (then `missing` says why). */
  person: Approver | null;
  missing?: string;
  acknowledgeWithin: string;
  /** Everyone paged before, who did not acknowledge. */
  escalatedFrom: string[];
}

/** An action on the incident by a person, with its evidence. */
interface Acted {
  runId: string;
  by: IncidentPerson;
  at: number;
  channel: IncidentChannel;
  ip?: string;
  userAgent?: string;
}

export interface StatusUpdateRecord {
  runId: string;
  /** 1, 2, … for the scheduled ones; the resolution's is the next number. */
  number: number;
  kind: IncidentUpdateEmailProps['kind'];
  /** The stakeholders' references (roles, people): every holder of a role gets it. */
  recipients: string[];
  /** Also told, whatever their roles (the reporter, at the resolution). */
  alsoTo: string[];
  state: string;
  newStatus?: { text: string; by: string; at: number };
  since: number;
  tasks: string[];
  resolution?: { summary: string; by: string; at: number };
}

const liveLinks = (runId: string) => ({ runId, kind: PAGE_LINK_KIND, usedAt: null, revokedAt: null }) as const;
const seconds = (ms: number) => Math.round(ms / 1000);

/**
 * The incident's records (workflows/incident.ts): its read model, the page links (one per person paged, same token
 * protocol as approval links, which stays the owner's page once they acknowledge), the pages' mails and Slack
 * messages, the status updates and the audit. Every activity is safe to retry: rows, mails and audit entries are
 * keyed by the run and what happened.
 */
export function createIncidentActivities(deps: ActivityDeps) {
  const { db } = deps;

  async function runFacts(runId: string) {
    const run = await db.run.findUniqueOrThrow({ where: { id: runId } });
    const process = findProcess(run.process);
    return { run, details: process ? process.describe(run.input) : [] };
  }

  /** Every page message in Slack says how the page ended, in place of its link. */
  async function closePageMessages(runId: string, outcome: string): Promise<void> {
    const pages = await db.approvalRequest.findMany({ where: { runId, kind: PAGE_LINK_KIND }, select: { id: true } });
    if (pages.length === 0) return;
    const { run, details } = await runFacts(runId);
    for (const page of pages) await closeSlackMessageWith(deps, page.id, () => closedIncidentPageMessage({ runTitle: run.title, facts: details }, outcome));
  }

  /** The audit entry of something a person did to the incident, with its evidence (channel, address, browser). */
  function auditActed(record: Acted, entry: { key: string; action: string; step: string; details: Record<string, unknown> }): Promise<void> {
    return writeAudit(deps, {
      eventKey: `${record.runId}:${entry.key}`,
      runId: record.runId,
      action: entry.action,
      actor: record.by.email,
      step: entry.step,
      ip: record.ip,
      userAgent: record.userAgent,
      at: record.at,
      details: { ...entry.details, channel: record.channel },
    });
  }

  /** The people the references name now: every holder of a role, the person, each once (delegations followed). */
  async function peopleNamed(refs: string[], subjectEmail: string): Promise<Array<{ email: string; name: string }>> {
    const seats = await deps.db.$transaction((tx) => approverCandidates(tx, { roles: refs, subjectEmail, managerChain: false }));
    const people = new Map<string, { email: string; name: string }>();
    for (const candidate of seats.flatMap((seat) => seat.candidates)) {
      if (!candidate.unavailable) people.set(candidate.email.toLowerCase(), { email: candidate.email, name: candidate.name });
    }
    return [...people.values()];
  }

  return {
    /** The read model and the audit entry that opens the incident's timeline. */
    async openIncident(record: OpenIncidentRecord): Promise<void> {
      await db.incident.upsert({
        where: { runId: record.runId },
        create: { runId: record.runId, area: record.area, severity: record.severity, openedAt: new Date(record.openedAt), acknowledgeBy: new Date(record.acknowledgeBy) },
        update: {},
      });
      await writeAudit(deps, {
        eventKey: `${record.runId}:incident.opened`,
        runId: record.runId,
        action: 'incident.opened',
        actor: 'opsflow',
        at: record.openedAt,
        details: {
          area: record.area,
          severity: record.severity,
          acknowledgeBy: new Date(record.acknowledgeBy).toISOString(),
          acknowledgeWithin: record.acknowledgeWithin,
          statusEvery: record.statusEvery,
          stakeholders: record.stakeholders,
        },
      });
    },

    /** One level of the page: the person's link, mail and Slack message, and the audit entry (paged or escalated). */
    async pageIncident(record: PageRecord): Promise<void> {
      const level = `${record.runId}:page:${record.level}`;
      const { person } = record;
      if (!person) {
        await writeAudit(deps, {
          eventKey: level,
          runId: record.runId,
          action: 'incident.page_skipped',
          actor: 'opsflow',
          step: record.stepId,
          details: { level: record.level, as: record.as, ref: record.ref, reason: record.missing ?? 'nobody to page' },
        });
        return;
      }
      const id = pageLinkId(record.runId, person.email);
      const { run, details } = await runFacts(record.runId);
      const link = await recordLinkRequest(deps, {
        id,
        runId: record.runId,
        kind: PAGE_LINK_KIND,
        stepId: record.stepId,
        stepTitle: 'Acknowledge the incident',
        seat: record.level,
        approverEmail: person.email.toLowerCase(),
        approverName: person.name,
        approverRole: record.as,
        onBehalfOf: person.onBehalfOf?.email ?? null,
        expiresAt: new Date(Date.now() + PAGE_LINK_GRACE_MS),
      });
      const page = { runTitle: run.title, as: record.as, acknowledgeWithin: record.acknowledgeWithin, escalatedFrom: record.escalatedFrom, facts: details, link };
      const { sent } = await sendEmailOnce(deps, {
        idempotencyKey: `${id}:page`,
        runId: record.runId,
        kind: 'incident.page',
        to: person.email,
        email: incidentPageEmail({ ...page, personName: person.name, onBehalfOf: person.onBehalfOf?.name, details }),
      });
      if (sent) await db.approvalRequest.update({ where: { id }, data: { emailSentAt: new Date() } });
      await postToSlackOnce(deps, id, person.email, () => incidentPageMessage(page));
      await db.incident.updateMany({ where: { runId: record.runId, escalationLevel: { lt: record.level } }, data: { escalationLevel: record.level } });
      await writeAudit(deps, {
        eventKey: level,
        runId: record.runId,
        action: record.level === 0 ? 'incident.paged' : 'incident.escalated',
        actor: 'opsflow',
        step: record.stepId,
        details: {
          level: record.level,
          to: person.email,
          as: record.as,
          ...(person.onBehalfOf ? { onBehalfOf: person.onBehalfOf.email } : {}),
          ...(record.level > 0 ? { from: record.escalatedFrom, after: record.acknowledgeWithin } : {}),
          slack: (await db.slackMessage.count({ where: { requestId: id } })) > 0,
        },
      });
    },

    /**
     * Who acknowledged, after how long, at which level they had been paged and how far the page had gone by then;
     * everyone else's page link stops working.
     */
    async recordIncidentAcknowledged(record: Acted & { level: number; reached: number }): Promise<void> {
      const incident = await db.incident.findUniqueOrThrow({ where: { runId: record.runId } });
      await db.incident.updateMany({
        where: { runId: record.runId, acknowledgedAt: null },
        data: { acknowledgedAt: new Date(record.at), acknowledgedBy: record.by.email, acknowledgedByName: record.by.name },
      });
      const reason = `the incident was acknowledged by ${record.by.name}`;
      await db.approvalRequest.updateMany({ where: { ...liveLinks(record.runId), approverEmail: { not: record.by.email.toLowerCase() } }, data: { revokedAt: new Date(), revokedReason: reason } });
      await closePageMessages(record.runId, `:white_check_mark: Acknowledged by ${record.by.name} on ${formatUtc(record.at)}`);
      await auditActed(record, {
        key: 'incident.acknowledged',
        action: 'incident.acknowledged',
        step: ACKNOWLEDGE_STEP,
        details: {
          level: record.level,
          reached: record.reached,
          secondsToAcknowledge: seconds(record.at - incident.openedAt.getTime()),
          acknowledgeBy: incident.acknowledgeBy.toISOString(),
          breached: record.at > incident.acknowledgeBy.getTime(),
        },
      });
    },

    /** A status the owner posted: the next update carries it. */
    async recordIncidentStatus(record: Acted & { number: number; text: string }): Promise<void> {
      await db.incident.update({ where: { runId: record.runId }, data: { lastStatus: record.text, lastStatusAt: new Date(record.at) } });
      await auditActed(record, { key: `status:${record.number}`, action: 'incident.status_posted', step: RESPOND_STEP, details: { number: record.number, text: record.text } });
    },

    /** A status update (or the resolution) to every stakeholder, once each. */
    async sendIncidentUpdate(record: StatusUpdateRecord): Promise<void> {
      const { run, details } = await runFacts(record.runId);
      const people = await peopleNamed(record.recipients, run.requesterEmail);
      for (const email of record.alsoTo) {
        if (!people.some((p) => p.email.toLowerCase() === email.toLowerCase())) people.push({ email, name: email === run.requesterEmail ? run.requesterName : email });
      }
      for (const person of people) {
        await sendEmailOnce(deps, {
          idempotencyKey: `${record.runId}:update:${record.number}:${person.email.toLowerCase()}`,
          runId: record.runId,
          kind: `incident.${record.kind === 'resolved' ? 'resolved' : 'status'}`,
          to: person.email,
          email: incidentUpdateEmail({ ...record, personName: person.name, runTitle: run.title, details }),
        });
      }
      if (record.kind === 'scheduled') await db.incident.updateMany({ where: { runId: record.runId, statusUpdatesSent: { lt: record.number } }, data: { statusUpdatesSent: record.number } });
      await writeAudit(deps, {
        eventKey: `${record.runId}:update:${record.number}`,
        runId: record.runId,
        action: record.kind === 'resolved' ? 'incident.resolution_sent' : 'incident.status_update_sent',
        actor: 'opsflow',
        details: { number: record.number, to: people.map((p) => p.email), newStatus: record.newStatus?.text ?? null },
      });
    },

    /** The resolution: the read model, the run's input (so the review shows it) and the audit entry. */
    async recordIncidentResolved(record: Acted & { summary: string }): Promise<void> {
      const incident = await db.incident.findUniqueOrThrow({ where: { runId: record.runId } });
      await db.$transaction(async (tx) => {
        await tx.incident.update({ where: { runId: record.runId }, data: { resolvedAt: new Date(record.at), resolvedBy: record.by.email, resolution: record.summary } });
        await extendRunInput(tx, record.runId, 'resolution', { summary: record.summary, by: record.by.name, at: new Date(record.at).toISOString() });
      });
      await auditActed(record, { key: 'incident.resolved', action: 'incident.resolved', step: RESPOND_STEP, details: { summary: record.summary, secondsToResolve: seconds(record.at - incident.openedAt.getTime()) } });
    },

    /** The run ended before anyone acknowledged or resolved it: every page link stops working, with the reason. */
    async closeIncidentPages(request: { runId: string; reason: string }): Promise<void> {
      await db.approvalRequest.updateMany({ where: liveLinks(request.runId), data: { revokedAt: new Date(), revokedReason: request.reason } });
      await closePageMessages(request.runId, request.reason.charAt(0).toUpperCase() + request.reason.slice(1));
    },
  };
}
