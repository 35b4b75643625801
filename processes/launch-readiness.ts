import { z } from 'zod';
import { describeApprovers, describeDeadline, describeTaskDeadline } from './diagram.js';
import { formatCount } from './format.js';
import { CHECKS_STEP, GO_NO_GO_STEP, launchReadinessRun, readinessCheckKeys, readinessChecks, type ReadinessCheckKey } from './launch-readiness-flow.js';
import {
  approvalTimingSchema,
  approverRefSchema,
  fieldPathsOf,
  materialChangesSchema,
  roleSchema,
  separationOfDutiesSchema,
  slaDuration,
  taskTimingSchema,
  type PolicyLimits,
} from './policy.js';
import { personSchema } from './shared.js';
import type { ProcessDefinition, TaskDefinition } from './types.js';

export { cutoffOf, checkDates, readinessSummary, readinessCheckKeys, type ReadinessSummary } from './launch-readiness-flow.js';

export const launchReadinessInputSchema = z
  .object({
    title: z.string().trim().min(3, 'must be at least 3 characters').max(200),
    product: z.string().trim().min(1, 'required').max(200),
    launchDate: z.iso.date('must be a date such as 2027-03-01'),
    campaign: z.string().trim().max(500).optional().describe('The campaign that goes with the launch, if any'),
    expectedDemand: z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be greater than 0').describe('Units a week expected from the launch date'),
    cutoffAt: z.iso
      .datetime({ offset: true, error: 'must be a date and time such as 2027-02-22T09:00:00Z' })
      .optional()
      .describe("When the COO decides go/no-go; by default the policy's cutoffBefore before the launch date"),
    requester: personSchema,
  })
  .refine((input) => !input.cutoffAt || Date.parse(input.cutoffAt) < Date.parse(`${input.launchDate}T00:00:00Z`) + 86_400_000, {
    path: ['cutoffAt'],
    message: 'must be before the end of the launch date',
  });
export type LaunchReadinessInput = z.infer<typeof launchReadinessInputSchema>;

const checkPolicy = (group: string) =>
  z
    .strictObject({
      candidateGroup: roleSchema.default(group).describe('Anyone holding this role may claim the check'),
      assignee: approverRefSchema.optional().describe('When set, the check goes to this one person instead of the group (e.g. "person:x@y.z", "role:cfo")'),
    })
    .prefault({});

/** Launch readiness policy: who checks what, when checks are due and chased, the cut-off, who decides go/no-go. */
export function launchReadinessPolicySchema(limits: PolicyLimits) {
  return z.strictObject({
    checks: z
      .strictObject({
        marketing: checkPolicy('role:marketing'),
        production: checkPolicy('role:production-planning'),
        supply: checkPolicy('role:supply-planning'),
        'customer-service': checkPolicy('role:customer-service'),
        finance: checkPolicy('role:finance-controller'),
      })
      .prefault({}),
    cutoffBefore: slaDuration(limits).default('7d').describe('The go/no-go cut-off this long before the launch date, when the input names none'),
    tasks: taskTimingSchema(limits)
      .extend({
        dueBeforeCutoff: slaDuration(limits).default('2d').describe('Each check is due this long before the cut-off'),
        followUpBeforeDue: slaDuration(limits).default('2d').describe('A follow-up mail this long before a check is due'),
        requesterMayComplete: z.boolean().default(false).describe('Separation of duties: false keeps the requester (and the starter) out of the checks'),
      })
      .prefault({}),
    goNoGo: z
      .strictObject({
        approvers: z.array(approverRefSchema).min(1).default(['role:coo']),
        timing: approvalTimingSchema(limits).prefault({}),
      })
      .prefault({}),
    separationOfDuties: separationOfDutiesSchema(),
    materialChanges: materialChangesSchema(fieldPathsOf(launchReadinessInputSchema), []),
  });
}
export type LaunchReadinessPolicy = z.infer<ReturnType<typeof launchReadinessPolicySchema>>;

const ready = z.boolean().describe('Tick when your department is ready for the launch');
const notes = z.string().trim().max(2000, 'keep it under 2000 characters').optional().describe('What is missing, or what the COO should know');
const count = (description: string) => z.number({ error: 'must be a number' }).int('must be a whole number').nonnegative('must be 0 or more').describe(description);

/** The check's form; not ready needs a note saying what is missing. */
function check(key: ReadinessCheckKey, fields: z.ZodRawShape, rule?: (values: Record<string, unknown>, input: LaunchReadinessInput, ctx: z.RefinementCtx) => void): TaskDefinition {
  const schema = z.object({ ready, ...fields, notes });
  return {
    ...readinessChecks[key],
    schema,
    validatorFor: (input) =>
      schema.superRefine((values: Record<string, unknown>, ctx) => {
        if (!values.ready && !values.notes) ctx.addIssue({ code: 'custom', path: ['notes'], message: 'say what is missing when your department is not ready' });
        rule?.(values, input as LaunchReadinessInput, ctx);
      }),
  };
}

export const readinessCheckForms: Record<ReadinessCheckKey, TaskDefinition> = {
  marketing: check('marketing', { campaignLiveOn: z.iso.date('must be a date such as 2027-03-01').describe('The day the campaign goes live') }),
  production: check('production', { confirmedCapacity: count('Units a week production commits to from the launch date') }, (values, input, ctx) => {
    if (values.ready && typeof values.confirmedCapacity === 'number' && values.confirmedCapacity < input.expectedDemand) {
      ctx.addIssue({ code: 'custom', path: ['confirmedCapacity'], message: `must cover the expected demand of ${formatCount(input.expectedDemand)} units a week, or untick Ready and say what is missing` });
    }
  }),
  supply: check('supply', { weeksOfSupplySecured: count('Weeks of expected demand the secured materials cover') }),
  'customer-service': check('customer-service', { agentsTrained: count('Agents trained on the product') }),
  finance: check('finance', { costCenter: z.string().trim().min(1, 'required').max(50).describe('Where the launch budget is booked') }),
};

export const launchReadinessProcess: ProcessDefinition<LaunchReadinessInput, LaunchReadinessPolicy> = {
  title: 'Launch readiness',
  description:
    'A product launch or campaign: marketing, production (capacity for the expected demand), supply, customer service and ' +
    'finance each confirm readiness as a task of their own, in parallel; the COO decides go/no-go when all are done or at ' +
    'the cut-off, with the open items shown.',
  workflowType: 'launchReadinessWorkflow',
  inputSchema: launchReadinessInputSchema,
  policySchema: launchReadinessPolicySchema,
  whoMayStart: ['runs:start:launch-readiness'],
  editableFields: [],
  slas: [
    { step: CHECKS_STEP, target: 'each check due 2d before the cut-off (policy)', onBreach: "reminders every 1d, then the check goes to its holder's manager after 1d; still open at the cut-off: shown to the COO as open" },
    { step: GO_NO_GO_STEP, target: 'remind after 1d, SLA 3d', onBreach: "escalates to the COO's manager, who has 2d; then the run expires" },
  ],
  tasks: readinessCheckForms,
  diagram: (policy) => [
    {
      id: CHECKS_STEP,
      kind: 'task',
      title: 'Readiness checks, in parallel: marketing, production capacity, supply, customer service, finance',
      who: readinessCheckKeys
        .map((key) => {
          const check = policy.checks[key];
          return `${readinessChecks[key].title}: ${check.assignee ? describeApprovers([check.assignee]) : `${describeApprovers([check.candidateGroup])} (one of them claims it)`}`;
        })
        .join('; '),
      deadline: describeTaskDeadline(`${policy.tasks.dueBeforeCutoff} before the cut-off (${policy.cutoffBefore} before the launch date unless the input names one)`, policy.tasks),
      otherwise: 'still open at the cut-off: closed and shown to the go/no-go approver as an open item',
    },
    {
      id: GO_NO_GO_STEP,
      kind: 'approval',
      title: 'Go/no-go, with the checks and the open items',
      who: describeApprovers(policy.goNoGo.approvers),
      deadline: describeDeadline(policy.goNoGo.timing),
      otherwise: 'rejected (or changes requested): no-go, the run ends rejected',
    },
    { id: 'end', kind: 'end', title: 'Requester told: go or no-go' },
  ],
  ...launchReadinessRun,
};
