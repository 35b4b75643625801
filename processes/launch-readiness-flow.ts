import { durationMs } from './duration.js';
import { formatCount, formatUtc } from './format.js';
import type { LaunchReadinessInput, LaunchReadinessPolicy } from './launch-readiness.js';
import type { TaskStatus } from './task-messages.js';
import { withFollowUp } from './task-dates.js';
import type { RunShape } from './types.js';

/**
 * What the launch-readiness workflow needs of its process, without zod (see capex-flow.ts): the departments' checks,
 * when they are due, the go/no-go cut-off, and the facts the COO is shown, open items included.
 */

export const readinessCheckKeys = ['marketing', 'production', 'supply', 'customer-service', 'finance'] as const;
export type ReadinessCheckKey = (typeof readinessCheckKeys)[number];

export const readinessChecks: Record<ReadinessCheckKey, { title: string; instructions: string }> = {
  marketing: { title: 'Marketing check', instructions: 'Confirm the campaign is ready to go live for the launch: assets approved, channels booked, the date it goes live.' },
  production: {
    title: 'Production capacity check',
    instructions: 'Confirm the weekly capacity production commits to from the launch date. Ready means it covers the expected demand.',
  },
  supply: { title: 'Supply check', instructions: 'Confirm materials and components are secured for the first weeks of demand, and for how many weeks.' },
  'customer-service': { title: 'Customer service check', instructions: 'Confirm agents are trained on the product and the help content is published.' },
  finance: { title: 'Finance check', instructions: 'Confirm the launch budget and the cost center it is booked on.' },
};

/** The process step every check belongs to, and the go/no-go approval after it. */
export const CHECKS_STEP = 'checks';
export const GO_NO_GO_STEP = 'go-no-go';

/** When the COO decides: the input's cut-off, else the policy's `cutoffBefore` before the launch date (00:00 UTC). */
export function cutoffOf(input: Pick<LaunchReadinessInput, 'launchDate' | 'cutoffAt'>, policy: Pick<LaunchReadinessPolicy, 'cutoffBefore'>): number {
  return input.cutoffAt ? Date.parse(input.cutoffAt) : Date.parse(`${input.launchDate}T00:00:00Z`) - durationMs(policy.cutoffBefore);
}

/** Due `dueBeforeCutoff` before the cut-off (at the cut-off when that moment has passed); a follow-up before that. */
export function checkDates(cutoff: number, policy: Pick<LaunchReadinessPolicy, 'tasks'>, now: number): { dueAt: number; followUpAt?: number } {
  const early = cutoff - durationMs(policy.tasks.dueBeforeCutoff);
  return withFollowUp(early > now ? early : cutoff, policy.tasks.followUpBeforeDue, now);
}

/** One check as the COO sees it: done with the department's answers, or open with who holds it. */
export interface ReadinessCheck {
  key: ReadinessCheckKey;
  title: string;
  status: TaskStatus;
  group: string | null;
  dueAt: string;
  /** The holder when it closed: who completed it, or who held it open. */
  by: string | null;
  ready: boolean | null;
  answers: Array<{ label: string; value: string }>;
  notes: string | null;
}

/** What the checks came to at the cut-off (or when the last one was done), kept in the run's input as `readiness`. */
export interface ReadinessSummary {
  asOf: string;
  checks: ReadinessCheck[];
}

type CheckOutcome = {
  key: string;
  status: TaskStatus;
  candidateGroup: string | null;
  holder: { name: string } | null;
  dueAt: number;
  values: Record<string, unknown> | null;
};

function humanize(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function answerValue(value: unknown): string {
  if (typeof value === 'number') return formatCount(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

export function readinessSummary(outcomes: CheckOutcome[], asOf: number): ReadinessSummary {
  return {
    asOf: new Date(asOf).toISOString(),
    checks: outcomes.map((task) => {
      const key = task.key as ReadinessCheckKey;
      const { ready, notes, ...answers } = task.values ?? {};
      return {
        key,
        title: readinessChecks[key].title,
        status: task.status,
        group: task.candidateGroup,
        dueAt: new Date(task.dueAt).toISOString(),
        by: task.holder?.name ?? null,
        ready: task.values ? ready === true : null,
        answers: Object.entries(answers).map(([label, value]) => ({ label: humanize(label), value: answerValue(value) })),
        notes: typeof notes === 'string' && notes ? notes : null,
      };
    }),
  };
}

function checkFact(check: ReadinessCheck): { label: string; value: string } {
  if (check.status !== 'completed') {
    const who = check.by ? `held by ${check.by}` : `nobody in ${check.group ?? 'its group'} claimed it`;
    return { label: check.title, value: `OPEN: not done by the cut-off (${who}; due ${formatUtc(Date.parse(check.dueAt))})` };
  }
  const lines = [`${check.ready ? 'Ready' : 'NOT READY'}, by ${check.by ?? 'unknown'}`, ...check.answers.map((a) => `${a.label}: ${a.value}`), ...(check.notes ? [`Notes: ${check.notes}`] : [])];
  return { label: check.title, value: lines.join('\n') };
}

export const launchReadinessRun: RunShape<LaunchReadinessInput> = {
  key: 'launch-readiness',
  summarize: (input) => ({ title: input.title, requester: input.requester }),
  describe: (input) => {
    const readiness = (input as LaunchReadinessInput & { readiness?: ReadinessSummary }).readiness;
    const facts = [
      { label: 'Product', value: input.product },
      { label: 'Launch date', value: input.launchDate },
      ...(input.campaign ? [{ label: 'Campaign', value: input.campaign }] : []),
      { label: 'Expected demand', value: `${formatCount(input.expectedDemand)} units a week` },
      ...(input.cutoffAt ? [{ label: 'Go/no-go cut-off', value: formatUtc(Date.parse(input.cutoffAt)) }] : []),
    ];
    if (!readiness) return facts;
    const open = readiness.checks.filter((c) => c.status !== 'completed');
    const notReady = readiness.checks.filter((c) => c.status === 'completed' && !c.ready);
    return [
      ...facts,
      { label: 'Open items', value: open.length ? open.map((c) => c.title).join('\n') : 'None: every check was done' },
      { label: 'Checks done', value: `${readiness.checks.length - open.length} of ${readiness.checks.length} (${notReady.length} not ready), as of ${formatUtc(Date.parse(readiness.asOf))}` },
      ...readiness.checks.map(checkFact),
    ];
  },
};
