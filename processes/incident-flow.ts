import { durationMs } from './duration.js';
import { formatCount, formatUtc } from './format.js';
import type { IncidentInput, IncidentPolicy } from './incident.js';
import type { RunShape } from './types.js';

/**
 * What the incident workflow needs of its process, without zod (see capex-flow.ts): the areas and severities, who is
 * paged in which order, the departments' tasks, and the facts people are shown.
 */

export const incidentAreas = ['supply', 'production'] as const;
export type IncidentArea = (typeof incidentAreas)[number];
export const severityLevels = ['sev1', 'sev2', 'sev3'] as const;
export type SeverityLevel = (typeof severityLevels)[number];

/** The steps a run goes through; the status updates run beside them from the start until the resolution. */
export const ACKNOWLEDGE_STEP = 'acknowledge';
export const DECLARE_STEP = 'declare';
export const RESPOND_STEP = 'respond';
export const REVIEW_STEP = 'review';
export const ACTIONS_STEP = 'actions';

/** In an escalation chain: the one after the on-call owner on the area's rota, and the area's head. */
export const NEXT_ON_ROTA = 'next-on-rota';
export const AREA_HEAD = 'area-head';

export const departmentKeys = ['procurement', 'sales', 'finance'] as const;
export type DepartmentKey = (typeof departmentKeys)[number];

/** The task each department gets when the owner asks for it in the declaration (its form is in incident.ts). */
export const departmentTasks: Record<DepartmentKey, { key: string; title: string; instructions: string; askField: string }> = {
  procurement: {
    key: 'alternate-supplier',
    title: 'Find an alternate supplier',
    instructions: 'Find a supplier who can deliver what the incident cuts off: who, from when, and at what extra cost a unit.',
    askField: 'askProcurement',
  },
  sales: {
    key: 'inform-customers',
    title: 'Inform key customers',
    instructions: 'Tell the key customers whose orders the incident affects, and note who may cancel.',
    askField: 'askSales',
  },
  finance: {
    key: 'estimate-cost',
    title: 'Estimate the cost',
    instructions: 'Estimate what the incident costs (lost sales, expediting, alternate supply) and say what the estimate rests on.',
    askField: 'askFinance',
  },
};

export const DECLARE_TASK = 'declare-impact';
export const REVIEW_TASK = 'post-incident-review';
export const ACTION_TASK = 'review-action';
/** Who a review action goes to: the incident's owner, or one of the departments (its candidate group). */
export const actionOwners = ['owner', ...departmentKeys] as const;
export type ActionOwner = (typeof actionOwners)[number];

/** What the owner declares (the declaration task's values), kept in the run's input as `impact`. */
export interface ImpactDeclaration {
  impact: string;
  ordersAtRisk?: number;
  askProcurement: boolean;
  askSales: boolean;
  askFinance: boolean;
  brief?: string;
}

/** The post-incident review's values: what happened, why, and the actions that each become a task. */
export interface ReviewValues {
  summary: string;
  rootCause: string;
  actions: Array<{ action: string; owner: ActionOwner; dueOn: string }>;
}

/** How it ended, kept in the run's input as `resolution` so the review task shows it. */
export interface Resolution {
  summary: string;
  by: string;
  at: string;
}

type AreaPolicy = IncidentPolicy['areas'][IncidentArea];
type SeverityPolicy = IncidentPolicy['severities'][SeverityLevel];

/** Whose shift it is: the rota's first, or with a rotation the one whose shift of `every` from `startsAt` runs now. */
export function onCallIndex(area: Pick<AreaPolicy, 'rota' | 'rotation'>, now: number): number {
  if (!area.rotation) return 0;
  const shifts = Math.floor((now - Date.parse(area.rotation.startsAt)) / durationMs(area.rotation.every));
  return ((shifts % area.rota.length) + area.rota.length) % area.rota.length;
}

/** One level of the page: who it names (a role or a person reference) and why they are asked. */
export interface PageLevel {
  ref: string;
  as: string;
}

/** Who is paged, in order: the on-call owner, then the severity's escalation chain (next on the rota, the area's head, …). */
export function pagingChain(areaKey: IncidentArea, area: AreaPolicy, severity: Pick<SeverityPolicy, 'escalation'>, now: number): PageLevel[] {
  const onCall = onCallIndex(area, now);
  const named = (ref: string): PageLevel => {
    if (ref === NEXT_ON_ROTA) return { ref: area.rota[(onCall + 1) % area.rota.length]!, as: `next on the ${areaKey} rota` };
    if (ref === AREA_HEAD) return { ref: area.head, as: `head of ${areaKey}` };
    return { ref, as: ref.replace(/^(role|person):/, '') };
  };
  return [{ ref: area.rota[onCall]!, as: `on call for ${areaKey}` }, ...severity.escalation.map(named)];
}

/** The stakeholders' references with the area's head filled in. */
export function stakeholderRefs(area: Pick<AreaPolicy, 'head'>, severity: Pick<SeverityPolicy, 'stakeholders'>): string[] {
  return [...new Set(severity.stakeholders.map((ref) => (ref === AREA_HEAD ? area.head : ref)))];
}

/** "2 of 3 department tasks done": a line of a status update, from the tasks as the workflow holds them. */
export function taskLines(tasks: Array<{ title: string; status: string; holder: { name: string } | null; candidateGroup: string | null }>): string[] {
  return tasks.map((task) => {
    if (task.status === 'completed') return `${task.title}: done by ${task.holder?.name ?? 'someone'}`;
    if (task.status === 'cancelled') return `${task.title}: closed`;
    return `${task.title}: ${task.holder ? `with ${task.holder.name}` : `open for ${task.candidateGroup ?? 'its group'}`}`;
  });
}

type StoredInput = IncidentInput & { impact?: ImpactDeclaration; resolution?: Resolution };

const areaTitle = (area: string) => area.charAt(0).toUpperCase() + area.slice(1);

export const incidentRun: RunShape<IncidentInput> = {
  key: 'incident',
  summarize: (input) => ({ title: `${input.severity.toUpperCase()} ${input.area}: ${input.title}`, requester: input.requester }),
  describe: (input) => {
    const { impact, resolution } = input as StoredInput;
    const asked = impact ? departmentKeys.filter((key) => impact[departmentTasks[key].askField as keyof ImpactDeclaration]) : [];
    return [
      { label: 'Severity', value: input.severity.toUpperCase() },
      { label: 'Area', value: areaTitle(input.area) },
      ...(input.affected ? [{ label: 'Affected', value: input.affected }] : []),
      { label: 'What happened', value: input.description },
      ...(input.source ? [{ label: 'Raised by', value: `${input.source.system} ${input.source.reference}` }] : []),
      { label: 'Reported by', value: input.requester.name },
      ...(impact
        ? [
            { label: 'Impact', value: impact.impact },
            ...(impact.ordersAtRisk !== undefined ? [{ label: 'Orders at risk', value: formatCount(impact.ordersAtRisk) }] : []),
            { label: 'Departments asked', value: asked.length ? asked.map((key) => `${key}: ${departmentTasks[key].title.toLowerCase()}`).join('\n') : 'none' },
            ...(impact.brief ? [{ label: 'Brief for the departments', value: impact.brief }] : []),
          ]
        : []),
      ...(resolution ? [{ label: 'Resolution', value: `${resolution.summary}\n(resolved by ${resolution.by}, ${formatUtc(Date.parse(resolution.at))})` }] : []),
    ];
  },
};
