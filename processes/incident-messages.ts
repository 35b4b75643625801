/**
 * The contract between callers (the page link, the JSON API) and the incident workflow (workflows/incident.ts): the
 * Updates' names, their payloads and the refusals their validators raise. Pure and free of zod, so the workflow
 * bundle holds it and the API does not import workflow code.
 */
export const ACKNOWLEDGE_INCIDENT_UPDATE = 'acknowledgeIncident';
export const POST_INCIDENT_STATUS_UPDATE = 'postIncidentStatus';
export const RESOLVE_INCIDENT_UPDATE = 'resolveIncident';

/** Where an incident action came from, recorded as evidence in its audit entry. */
export type IncidentChannel = 'link' | 'api';

export interface IncidentPerson {
  email: string;
  name: string;
}

/** Who acts and from where; the API fills it in from the link or the key. */
export interface IncidentActionInput {
  actorEmail: string;
  channel: IncidentChannel;
  ip?: string;
  userAgent?: string;
}

export interface AcknowledgeInput extends IncidentActionInput {
  /** Chosen by the caller; echoed back so a caller can tell its own acknowledgement from an earlier one. */
  nonce: string;
}

export interface PostStatusInput extends IncidentActionInput {
  /** What the stakeholders read in the next status update. */
  text: string;
}

export interface ResolveInput extends IncidentActionInput {
  summary: string;
  nonce: string;
}

/** What every incident Update answers: the incident as it stands after the action. */
export interface IncidentState {
  acknowledgedBy: IncidentPerson | null;
  acknowledgedAt: number | null;
  /** How far the page had escalated when it was acknowledged (0: the on-call owner). */
  level: number;
  resolvedAt: number | null;
  /** The nonce of the acknowledgement (or, once resolved, the resolution) that answered. */
  nonce: string | null;
}

/** ApplicationFailure types the validators use to refuse an incident action; the API maps each to an answer. */
export const IncidentRefusal = {
  /** Someone acknowledged first; the failure's first detail is that person (IncidentPerson). */
  alreadyAcknowledged: 'IncidentAlreadyAcknowledged',
  /** Only people the incident was paged to may acknowledge it. */
  notPaged: 'IncidentNotPaged',
  /** Status and resolution come after an acknowledgement. */
  notAcknowledged: 'IncidentNotAcknowledged',
  /** Only whoever acknowledged it (its owner) posts status and resolves it. */
  notOwner: 'NotIncidentOwner',
  resolved: 'IncidentResolved',
  invalid: 'InvalidIncidentAction',
} as const;
export type IncidentRefusal = (typeof IncidentRefusal)[keyof typeof IncidentRefusal];

/** The link kind (ApprovalRequest.kind) of a page: one per person paged, which stays their incident page. */
export const PAGE_LINK_KIND = 'page';

/** One link per person paged: the same id from the workflow and from the activity's retries. */
export function pageLinkId(runId: string, email: string): string {
  return `${runId}:page:${email.toLowerCase()}`;
}
