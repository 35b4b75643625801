import { z } from 'zod';
import type { MaterialChangeRule } from './controls.js';
import { durationMs } from './duration.js';
import { durationSchema } from './shared.js';
import { stepTiming } from './timing.js';

export { stepTiming } from './timing.js';
import type { Duration } from './types.js';

/**
 * The pieces every process's policy is built from. A policy is what admins own (routing, thresholds, approver
 * roles, timing, deadline actions, separation of duties, material fields); input is what requesters own. Each
 * process declares its policy as a zod schema built from these, with bounds, and every field has a default.
 */

/** How short a reminder or SLA may be. Production keeps them at an hour or more; tests and demos may use seconds. */
export interface PolicyLimits {
  minimumSla: Duration;
  /** The smallest retry budget for calls to external systems. */
  minimumRetryBudget: Duration;
  /**
   * How soon an unacknowledged incident page may escalate and how often its status updates may go out: an incident
   * is measured in minutes, where an approval's reminders are measured in hours.
   */
  minimumPageInterval: Duration;
}

export const productionLimits: PolicyLimits = { minimumSla: '1h', minimumRetryBudget: '1m', minimumPageInterval: '5m' };
export const shortDurationLimits: PolicyLimits = { minimumSla: '1s', minimumRetryBudget: '1s', minimumPageInterval: '1s' };

export function policyLimits(allowShortDurations: boolean): PolicyLimits {
  return allowShortDurations ? shortDurationLimits : productionLimits;
}

const LONGEST = '400d';

export function boundedDuration(minimum: Duration, maximum: Duration = LONGEST) {
  return durationSchema
    .refine((d) => durationMs(d) >= durationMs(minimum), `must be at least ${minimum}`)
    .refine((d) => durationMs(d) <= durationMs(maximum), `must be at most ${maximum}`);
}

/** A reminder interval, an SLA or a deadline a person has to meet. */
export const slaDuration = (limits: PolicyLimits) => boundedDuration(limits.minimumSla);
/** An incident's acknowledgement window or status-update interval. */
export const pageInterval = (limits: PolicyLimits) => boundedDuration(limits.minimumPageInterval, '7d');
/** How long a call to an external system is retried. */
export const retryBudget = (limits: PolicyLimits) => boundedDuration(limits.minimumRetryBudget, '7d');

const ROLE_NAME = '[a-z0-9{][a-z0-9{}:._-]*';
/** A role the directory knows: "role:cfo". `{department}` placeholders are filled from the input by the process. */
export const roleSchema = z.string().regex(new RegExp(`^role:${ROLE_NAME}$`), 'must be "role:<role>"');

/** Who fills a seat: the requester's or approver's manager, a role's first holder, every holder, or a person. */
export const approverRefSchema = z
  .string()
  .regex(
    new RegExp(`^(manager-of-requester|manager-of-approver|(each-)?role:${ROLE_NAME}|person:[^\\s@]+@[^\\s@]+)$`),
    'must be "manager-of-requester", "manager-of-approver", "role:<role>", "each-role:<role>" or "person:<e-mail>"',
  );

/** Escalation goes to a role or up the approver's manager chain, never to a named person. */
export const escalationTargetSchema = z
  .string()
  .regex(new RegExp(`^(manager-of-approver|role:${ROLE_NAME})$`), 'must be "manager-of-approver" or "role:<role>" (escalation never goes to a named person)');

export const deadlineActions = ['escalate', 'expire', 'reject', 'approve'] as const;

/** The timing fields of an approval step, without defaults (a step's own policy sets only what differs). */
function timingFields(limits: PolicyLimits) {
  return {
    reminderAfter: slaDuration(limits).describe('A reminder when the approver has not acted after this long; repeats'),
    timeout: slaDuration(limits).describe("The step's SLA: what happens then is onTimeout"),
    onTimeout: z.enum(deadlineActions).describe('At the SLA: escalate (then expire), expire, reject, or approve (only below approveAtDeadlineBelow)'),
    escalateTo: escalationTargetSchema,
    escalationTimeout: slaDuration(limits).describe('How long the escalation approver has before the step expires'),
    approveAtDeadlineBelow: z
      .number()
      .positive('must be greater than 0')
      .describe("onTimeout approve applies only to runs whose amount is below this (in the run's currency)"),
  };
}

/** How one approval step waits: remind, then at its SLA escalate, expire, reject or approve. */
export function approvalTimingSchema(limits: PolicyLimits) {
  const fields = timingFields(limits);
  return z.strictObject({
    reminderAfter: fields.reminderAfter.default('1d'),
    timeout: fields.timeout.default('3d'),
    onTimeout: fields.onTimeout.default('escalate'),
    escalateTo: fields.escalateTo.default('manager-of-approver'),
    escalationTimeout: fields.escalationTimeout.default('2d'),
    approveAtDeadlineBelow: fields.approveAtDeadlineBelow.optional(),
  });
}

export type ApprovalTiming = z.infer<ReturnType<typeof approvalTimingSchema>>;

/** A step's own policy: who sits in it, and any timing that differs from the process's `approval` defaults. */
export function stepPolicySchema(limits: PolicyLimits, defaultApprovers: string[]) {
  const fields = timingFields(limits);
  return z
    .strictObject({
      approvers: z.array(approverRefSchema).min(1, 'needs at least one approver').default(defaultApprovers),
      reminderAfter: fields.reminderAfter.optional(),
      timeout: fields.timeout.optional(),
      onTimeout: fields.onTimeout.optional(),
      escalateTo: fields.escalateTo.optional(),
      escalationTimeout: fields.escalationTimeout.optional(),
      approveAtDeadlineBelow: fields.approveAtDeadlineBelow.optional(),
    })
    .prefault({});
}


/** Where an overdue task goes: the manager of whoever holds it, or a role's first eligible holder; never a named person. */
export const taskEscalationTargetSchema = z
  .string()
  .regex(new RegExp(`^(manager-of-holder|role:${ROLE_NAME})$`), 'must be "manager-of-holder" or "role:<role>" (escalation never goes to a named person)');

/**
 * How a human task (workflows/tasks.ts) chases its due date: once overdue, reminders to whoever holds it (its
 * whole group while nobody does), then it is given to the escalation target. Bounded like approval timing.
 */
export function taskTimingSchema(limits: PolicyLimits) {
  return z.strictObject({
    reminderEvery: slaDuration(limits).default('1d').describe('Once a task is overdue, a reminder this often to its holder (or its whole group while nobody holds it)'),
    escalateAfter: slaDuration(limits).default('1d').describe('This long after its due date an unfinished task is given to escalateTo'),
    escalateTo: taskEscalationTargetSchema.default('manager-of-holder').describe(
      'manager-of-holder: the manager of whoever holds it (of the group\'s first member while nobody does); role:<role>: that role\'s first eligible holder',
    ),
  });
}

export type TaskTiming = z.infer<ReturnType<typeof taskTimingSchema>>;

/** Separation of duties; a process whose steps are independent decisions of one desk may default to allow more. */
export function separationOfDutiesSchema(defaults: { onePersonOneStep: boolean } = { onePersonOneStep: true }) {
  return z
    .strictObject({
      onePersonOneStep: z.boolean().default(defaults.onePersonOneStep).describe('One person decides at most one step of a run'),
      fallbackRole: roleSchema.optional().describe('Takes a seat nobody eligible can fill; without it the run fails at that step'),
    })
    .prefault({});
}

export function materialChangesSchema(fieldPaths: readonly string[], defaults: MaterialChangeRule[]) {
  return z
    .array(
      z.strictObject({
        field: z.string().refine((f) => fieldPaths.includes(f), { message: `must be one of ${fieldPaths.join(', ')}` }),
        when: z.enum(['changed', 'increased']).default('changed'),
      }),
    )
    .default(defaults)
    .describe('Edits to these fields ask everyone who approved before the edit again');
}

/**
 * Deadline approval needs a limit: an `approve` without `approveAtDeadlineBelow`, in the defaults or a step, is
 * refused with the path of the step that would approve unbounded.
 */
export function requireLimitForDeadlineApproval(
  policy: { approval: ApprovalTiming; steps?: Record<string, Partial<ApprovalTiming> | undefined> },
  ctx: z.RefinementCtx,
): void {
  const reported = new Set<string>();
  const check = (timing: ApprovalTiming, path: Array<string | number>) => {
    if (timing.onTimeout !== 'approve' || timing.approveAtDeadlineBelow !== undefined || reported.has(path.join('.'))) return;
    reported.add(path.join('.'));
    ctx.addIssue({ code: 'custom', path: [...path, 'approveAtDeadlineBelow'], message: 'is required when onTimeout is "approve"' });
  };
  const steps = Object.entries(policy.steps ?? {});
  if (steps.length === 0) return check(policy.approval, ['approval']);
  for (const [stepId, step] of steps) {
    const timing = stepTiming(policy.approval, step);
    const own = step?.onTimeout === 'approve' || step?.approveAtDeadlineBelow !== undefined;
    check(timing, own ? ['steps', stepId] : ['approval']);
  }
}

/** Every role a policy names (placeholders excluded), so a change naming a role nobody holds can be refused. */
export function rolesNamedIn(policy: unknown, path: Array<string | number> = []): Array<{ role: string; path: Array<string | number> }> {
  if (typeof policy === 'string') {
    const match = /^(?:each-)?role:(.+)$/.exec(policy);
    return match && !match[1]!.includes('{') ? [{ role: match[1]!, path }] : [];
  }
  if (Array.isArray(policy)) return policy.flatMap((item, i) => rolesNamedIn(item, [...path, i]));
  if (policy && typeof policy === 'object') return Object.entries(policy).flatMap(([key, value]) => rolesNamedIn(value, [...path, key]));
  return [];
}

/** Every dotted path of an object JSON Schema, for naming material fields. */
export function fieldPathsOf(schema: z.ZodType, prefix = ''): string[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  return pathsIn(json, prefix);
}

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
}

function pathsIn(node: JsonSchemaNode, prefix: string): string[] {
  return Object.entries(node.properties ?? {}).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...pathsIn(child, path)];
  });
}
