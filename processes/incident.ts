import { z } from 'zod';
import { describeApprovers, describeTaskDeadline } from './diagram.js';
import {
  ACKNOWLEDGE_STEP,
  ACTION_TASK,
  actionOwners,
  ACTIONS_STEP,
  AREA_HEAD,
  DECLARE_STEP,
  DECLARE_TASK,
  departmentKeys,
  departmentTasks,
  incidentAreas,
  incidentRun,
  NEXT_ON_ROTA,
  RESPOND_STEP,
  REVIEW_STEP,
  REVIEW_TASK,
  severityLevels,
  type DepartmentKey,
} from './incident-flow.js';
import {
  fieldPathsOf,
  materialChangesSchema,
  pageInterval,
  roleSchema,
  separationOfDutiesSchema,
  slaDuration,
  taskTimingSchema,
  type PolicyLimits,
} from './policy.js';
import { currencySchema, moneyAmountSchema, personSchema } from './shared.js';
import type { Duration, EventStartRoute, ProcessDefinition, TaskDefinition } from './types.js';

export const incidentInputSchema = z.object({
  title: z.string().trim().min(3, 'must be at least 3 characters').max(200),
  area: z.enum(incidentAreas, { error: `must be one of ${incidentAreas.join(', ')}` }).describe('The area whose on-call owner is paged'),
  severity: z.enum(severityLevels, { error: `must be one of ${severityLevels.join(', ')}` }).describe('Sets the acknowledgement time, status-update interval, stakeholders and escalation chain (policy)'),
  description: z.string().trim().min(1, 'required').max(4000),
  affected: z.string().trim().max(200).optional().describe('What is hit: a supplier, a line, a site'),
  source: z.object({ system: z.string().trim().min(1).max(50), reference: z.string().trim().min(1).max(200) }).optional().describe('The alert or ERP record that raised it'),
  requester: personSchema.describe('Who reported it; told when it is resolved'),
});
export type IncidentInput = z.infer<typeof incidentInputSchema>;

const MEMBER = 'role:[a-z0-9][a-z0-9:._-]*|person:[^\\s@]+@[^\\s@]+';
/** A rota member: one person, or a role whose first holder takes the shift. */
const rotaMemberSchema = z.string().regex(new RegExp(`^(${MEMBER})$`), 'must be "role:<role>" or "person:<e-mail>"');
/** Who a page escalates to: besides a role or a person, the next on the area's rota or the area's head. */
const chainStepSchema = z
  .string()
  .regex(new RegExp(`^(${NEXT_ON_ROTA}|${AREA_HEAD}|${MEMBER})$`), `must be "${NEXT_ON_ROTA}", "${AREA_HEAD}", "role:<role>" or "person:<e-mail>"`);
/** Who gets the status updates: every holder of a role, a person, or the area's head. */
const stakeholderSchema = z.string().regex(new RegExp(`^(${AREA_HEAD}|${MEMBER})$`), `must be "${AREA_HEAD}", "role:<role>" or "person:<e-mail>"`);

function areaPolicy(limits: PolicyLimits, area: string) {
  return z
    .strictObject({
      rota: z
        .array(rotaMemberSchema)
        .min(1, 'needs at least one person on call')
        .default([`role:on-call:${area}:primary`, `role:on-call:${area}:secondary`])
        .describe('Who is on call, in rota order: the one whose shift it is is paged first; "next-on-rota" is the one after them'),
      rotation: z
        .strictObject({
          startsAt: z.iso.datetime({ offset: true, error: 'must be a date and time such as 2027-01-04T08:00:00Z' }).describe("When the rota's first shift began"),
          every: slaDuration(limits).describe('How long a shift lasts'),
        })
        .optional()
        .describe('Without it the rota does not turn: its first member is on call'),
      head: roleSchema.default(`role:department-head:${area}`).describe(`The area's head ("${AREA_HEAD}" in the chains)`),
    })
    .prefault({});
}

function severityPolicy(limits: PolicyLimits, defaults: { acknowledgeWithin: Duration; statusEvery: Duration; stakeholders: string[]; escalation: string[]; tasksDueWithin: Duration }) {
  return z
    .strictObject({
      acknowledgeWithin: pageInterval(limits).default(defaults.acknowledgeWithin).describe('Each person paged has this long to acknowledge before the page goes to the next in the chain'),
      statusEvery: pageInterval(limits).default(defaults.statusEvery).describe('A status update to the stakeholders this often until it is resolved'),
      stakeholders: z.array(stakeholderSchema).min(1).default(defaults.stakeholders).describe('Who gets the status updates: every holder of each role'),
      escalation: z.array(chainStepSchema).default(defaults.escalation).describe('Whom the page goes to, in turn, while nobody acknowledges'),
      tasksDueWithin: slaDuration(limits).default(defaults.tasksDueWithin).describe('The declaration and the departments’ tasks are due this long after they open'),
    })
    .prefault({});
}

const departmentPolicy = (group: string) =>
  z.strictObject({ candidateGroup: roleSchema.default(group).describe('Anyone holding this role may claim the department’s task') }).prefault({});

/** Incident policy: the areas' rotas and heads, what each severity asks for, the departments, and task timing. */
export function incidentPolicySchema(limits: PolicyLimits) {
  return z.strictObject({
    areas: z.strictObject({ supply: areaPolicy(limits, 'supply'), production: areaPolicy(limits, 'production') }).prefault({}),
    severities: z
      .strictObject({
        sev1: severityPolicy(limits, { acknowledgeWithin: '15m', statusEvery: '30m', stakeholders: ['role:coo', AREA_HEAD, 'role:cfo'], escalation: [NEXT_ON_ROTA, AREA_HEAD, 'role:coo'], tasksDueWithin: '4h' }),
        sev2: severityPolicy(limits, { acknowledgeWithin: '30m', statusEvery: '1h', stakeholders: ['role:coo', AREA_HEAD], escalation: [NEXT_ON_ROTA, AREA_HEAD, 'role:coo'], tasksDueWithin: '1d' }),
        sev3: severityPolicy(limits, { acknowledgeWithin: '2h', statusEvery: '4h', stakeholders: [AREA_HEAD], escalation: [NEXT_ON_ROTA, AREA_HEAD], tasksDueWithin: '3d' }),
      })
      .prefault({}),
    departments: z
      .strictObject({ procurement: departmentPolicy('role:procurement'), sales: departmentPolicy('role:key-accounts'), finance: departmentPolicy('role:finance-controller') })
      .prefault({}),
    tasks: taskTimingSchema(limits).prefault({}),
    review: z.strictObject({ dueWithin: slaDuration(limits).default('5d').describe('The post-incident review is due this long after the resolution') }).prefault({}),
    separationOfDuties: separationOfDutiesSchema(),
    materialChanges: materialChangesSchema(fieldPathsOf(incidentInputSchema), []),
  });
}
export type IncidentPolicy = z.infer<ReturnType<typeof incidentPolicySchema>>;

const notes = z.string().trim().max(2000, 'keep it under 2000 characters').optional();
const count = (description: string) => z.number({ error: 'must be a number' }).int('must be a whole number').nonnegative('must be 0 or more').describe(description);
const isoDate = z.iso.date('must be a date such as 2027-03-01');

/** A form whose full check is its schema plus rules over its own values (none depend on the run's input). */
function form(schema: z.ZodObject, title: string, instructions: string, rule?: (values: Record<string, unknown>, ctx: z.RefinementCtx) => void, rows?: number): TaskDefinition {
  return { title, instructions, schema, ...(rows ? { rows } : {}), validatorFor: () => (rule ? schema.superRefine((values: Record<string, unknown>, ctx) => rule(values, ctx)) : schema) };
}

const declarationSchema = z.object({
  impact: z.string().trim().min(10, 'say what is hit and how badly, in a sentence or two').max(2000).describe('What is hit and how badly'),
  ordersAtRisk: count('Customer orders at risk').optional(),
  askProcurement: z.boolean().describe(departmentTasks.procurement.title),
  askSales: z.boolean().describe(departmentTasks.sales.title),
  askFinance: z.boolean().describe(departmentTasks.finance.title),
  brief: z.string().trim().max(2000).optional().describe('What the departments should know: it goes into their tasks'),
});

const departmentSchemas: Record<DepartmentKey, z.ZodObject> = {
  procurement: z.object({
    supplier: z.string().trim().min(1, 'required').max(200).describe('Who delivers instead'),
    availableFrom: isoDate.describe('From when they deliver'),
    extraCostPerUnit: z.number({ error: 'must be a number' }).nonnegative('must be 0 or more').optional().describe('Extra cost a unit, in the cost estimate’s currency'),
    notes,
  }),
  sales: z.object({
    customersInformed: count('Key customers told'),
    customersAtRisk: z.string().trim().max(500).optional().describe('Who may cancel'),
    notes,
  }),
  finance: z.object({
    estimatedCost: moneyAmountSchema.describe('What the incident costs, all in'),
    currency: currencySchema,
    basis: z.string().trim().min(1, 'required').max(2000).describe('What the estimate rests on'),
  }),
};

const reviewSchema = z.object({
  summary: z.string().trim().min(10, 'say what happened, in a sentence or two').max(4000).describe('What happened'),
  rootCause: z.string().trim().min(1, 'required').max(2000).describe('Why it happened'),
  actions: z
    .array(
      z.object({
        action: z.string().trim().min(3, 'must be at least 3 characters').max(300),
        owner: z.enum(actionOwners).describe('The incident owner, or a department'),
        dueOn: isoDate,
      }),
    )
    .max(10)
    .default([])
    .describe('What will keep it from happening again: each becomes a task'),
});

/** The declaration, the departments' tasks and the review: the forms that complete them. */
export const incidentTaskForms: Record<string, TaskDefinition> = {
  [DECLARE_TASK]: form(
    declarationSchema,
    'Declare the impact',
    'Say what the incident hits and how badly, and tick the departments that must act: each gets a task.',
    (values, ctx) => {
      const asked = departmentKeys.some((key) => values[departmentTasks[key].askField] === true);
      if (asked && !values.brief) ctx.addIssue({ code: 'custom', path: ['brief'], message: 'tell the departments you ask what they need to know' });
    },
  ),
  ...Object.fromEntries(departmentKeys.map((key) => [departmentTasks[key].key, form(departmentSchemas[key], departmentTasks[key].title, departmentTasks[key].instructions)])),
  [REVIEW_TASK]: form(
    reviewSchema,
    'Post-incident review',
    'Write up what happened and why, and list the actions that keep it from happening again: each becomes a task for its owner.',
    (values, ctx) => {
      const today = new Date().toISOString().slice(0, 10);
      (values.actions as Array<{ dueOn?: string }> | undefined)?.forEach((action, index) => {
        if (action.dueOn && action.dueOn < today) ctx.addIssue({ code: 'custom', path: ['actions', index, 'dueOn'], message: 'must be today or later' });
      });
    },
    3,
  ),
  [ACTION_TASK]: form(z.object({ done: z.string().trim().min(1, 'required').max(2000).describe('What was done') }), 'Review action', 'An action from the post-incident review: do it, and say what was done.'),
};

const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

/** One incident per source record: a repeated delivery, or another event about the same record, opens none. */
function startedBy(source: string, type: string, idField: string, toInput: (data: Record<string, unknown>, id: string) => Record<string, unknown>): EventStartRoute {
  return {
    source,
    type,
    correlationKey: (data) => (text(data[idField]) ? `${source}:${text(data[idField])}` : undefined),
    toInput: (data) => ({ ...toInput(data, text(data[idField]) ?? ''), source: { system: source, reference: data[idField] }, requester: data.reportedBy }),
  };
}

const named = (ref: string) => (ref === NEXT_ON_ROTA ? 'the next on the rota' : ref === AREA_HEAD ? "the area's head" : describeApprovers([ref]));
/** "the next on the rota, then the area's head, then coo" */
const inTurn = (refs: string[]) => refs.map(named).join(', then ');

export const incidentProcess: ProcessDefinition<IncidentInput, IncidentPolicy> = {
  title: 'Incident',
  description:
    'A supply disruption, a line down or another crisis. The on-call owner of the area is paged (mail, and Slack) and must ' +
    'acknowledge within the severity’s time, else the page goes on: next on the rota, the area’s head, the COO. The owner ' +
    'declares the impact and the departments to involve (procurement finds an alternate supplier, sales informs key ' +
    'customers, finance estimates the cost), each as a task; status updates go to the stakeholders at the severity’s ' +
    'interval until it is resolved; then a post-incident review whose actions become tasks.',
  workflowType: 'incidentWorkflow',
  inputSchema: incidentInputSchema,
  policySchema: incidentPolicySchema,
  whoMayStart: ['runs:start:incident', 'event erp/supply.disruption', 'event monitoring/line.down'],
  editableFields: [],
  slas: [
    { step: ACKNOWLEDGE_STEP, target: 'acknowledged within 15m (sev1), 30m (sev2), 2h (sev3)', onBreach: 'the page goes to the next on the rota, then the area’s head, then the COO; a breach in the KPIs' },
    { step: RESPOND_STEP, target: 'department tasks due within 4h (sev1), 1d (sev2), 3d (sev3)', onBreach: "reminders every 1d, then the task goes to its holder's manager after 1d" },
    { step: REVIEW_STEP, target: 'review due 5d after the resolution', onBreach: "reminders, then the owner's manager" },
  ],
  tasks: incidentTaskForms,
  events: {
    starts: [
      startedBy('erp', 'supply.disruption', 'disruptionId', (data) => ({
        title: text(data.title) ?? (text(data.supplier) ? `Supply disruption: ${text(data.supplier)}` : undefined),
        area: 'supply',
        severity: data.severity ?? 'sev2',
        description: data.description,
        affected: [text(data.supplier), text(data.material)].filter(Boolean).join(', ') || undefined,
      })),
      startedBy('monitoring', 'line.down', 'alertId', (data) => ({
        title: text(data.title) ?? (text(data.line) ? `Line down: ${text(data.line)}` : undefined),
        area: 'production',
        severity: data.severity ?? 'sev1',
        description: data.description ?? (text(data.line) ? `${text(data.line)} stopped` : undefined),
        affected: text(data.line),
      })),
    ],
  },
  diagram: (policy) => {
    const severities = severityLevels.map((level) => {
      const s = policy.severities[level];
      return `${level}: ${s.acknowledgeWithin} each, then ${inTurn(s.escalation) || 'nobody else'}; status every ${s.statusEvery} to ${s.stakeholders.map(named).join(', ')}`;
    });
    return [
      {
        id: ACKNOWLEDGE_STEP,
        kind: 'wait',
        title: 'Page the on-call owner of the area (mail, and Slack); they acknowledge by link or API',
        who: incidentAreas.map((area) => `${area}: ${inTurn(policy.areas[area].rota)} (the rota, from whoever's shift it is)`).join('; '),
        deadline: severities.join('; '),
        otherwise: 'an acknowledgement after escalation still stops the page and makes whoever acknowledged the owner',
      },
      {
        id: DECLARE_STEP,
        kind: 'task',
        title: 'The owner declares the impact and the departments to involve',
        who: 'whoever acknowledged',
        deadline: describeTaskDeadline('the severity’s tasksDueWithin after the acknowledgement', policy.tasks),
        otherwise: 'resolved before it is declared: closed',
      },
      {
        id: RESPOND_STEP,
        kind: 'task',
        title: 'Department tasks in parallel: alternate supplier, key customers, cost estimate; status updates until resolved',
        who: departmentKeys.map((key) => `${departmentTasks[key].title}: ${describeApprovers([policy.departments[key].candidateGroup])}`).join('; '),
        deadline: describeTaskDeadline('the severity’s tasksDueWithin after the declaration', policy.tasks),
        otherwise: 'the owner resolves it with a summary: a final update to the stakeholders and the reporter',
      },
      { id: REVIEW_STEP, kind: 'task', title: 'Post-incident review: what happened, why, and the actions', who: 'the owner', deadline: describeTaskDeadline(`${policy.review.dueWithin} after the resolution`, policy.tasks) },
      { id: ACTIONS_STEP, kind: 'task', when: 'the review lists actions', title: 'Each review action as a task for its owner or department', who: 'the owner, or the department’s group', deadline: describeTaskDeadline('on the day the review set', policy.tasks) },
      { id: 'end', kind: 'end', title: 'Resolved and reviewed' },
    ];
  },
  ...incidentRun,
};
