import type { z } from 'zod';
import type { ControlsPolicy, PolicyStamp } from './controls.js';
import type { DiagramNode } from './diagram.js';
import type { PolicyLimits } from './policy.js';

/** A Temporal duration string such as "30s", "15m", "2h", "3d". */
export type Duration = `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

/** What every run shows in lists and search, derived from its input by the process. */
export interface RunSummary {
  title: string;
  requester: { name: string; email: string };
  amount?: number;
  currency?: string;
  /** Cost center or department the run is charged to, for search and KPIs. */
  costCenter?: string;
}

export interface SlaDoc {
  step: string;
  target: string;
  onBreach: string;
}

type EventData = Record<string, unknown>;

/** An event that starts a run: one run per correlation key, however often the event is delivered. */
export interface EventStartRoute {
  source: string;
  type: string;
  /** The key later events for the same run carry (a PO number, a candidate id), read from the event's data. */
  correlationKey(data: EventData): unknown;
  /** The run's input, validated with the process's inputSchema exactly like a start over the API. */
  toInput(data: EventData): unknown;
}

/** An event a running run waits for, matched by correlation key (or by run id when the key is the run's id). */
export interface EventConsumeRoute {
  source: string;
  type: string;
  correlationKey(data: EventData): unknown;
}

/** A form someone outside the company fills in through an e-mailed link (e.g. a supplier's own details). */
export interface ExternalFormDefinition {
  title: string;
  intro: string;
  /** The fields shown; its JSON Schema drives the page. Arrays of objects get `rows` empty rows. */
  schema: z.ZodObject;
  rows?: number;
  /** The full check, which may depend on the run's input (e.g. rules by the supplier's country). */
  validatorFor(input: unknown): z.ZodType;
}

/**
 * A piece of work a person does for a run (workflows/tasks.ts): what it asks and the form that completes it. Its
 * key is what the workflow names when it opens one; the form is validated with `validatorFor` on every channel.
 */
export interface TaskDefinition {
  title: string;
  /** What to do, shown on the task's page and in its mail. */
  instructions: string;
  /** The completion form's fields; its JSON Schema draws the page. Arrays of objects get `rows` empty rows. */
  schema: z.ZodObject;
  rows?: number;
  /** The full check on completion, which may depend on the run's input (e.g. capacity against expected demand). */
  validatorFor(input: unknown): z.ZodType;
}

/**
 * A process as the API, docs and catalog see it. The registry (processes/index.ts) lists these; nothing else
 * needs editing to add one. `workflowType` is the exported name of the workflow function in workflows/.
 */
export interface ProcessDefinition<Input = unknown, Policy extends ControlsPolicy = ControlsPolicy> {
  key: string;
  title: string;
  description: string;
  workflowType: string;
  /** Task queue override; by default runs go to the worker's TEMPORAL_TASK_QUEUE. */
  taskQueue?: string;
  inputSchema: z.ZodType<Input>;
  /**
   * The process's policy (routing, thresholds, approver roles, timing, deadline actions, separation of duties,
   * material fields), owned by admins and versioned in the database. Every field has a default; durations are
   * bounded by `limits` (production: reminders and SLAs of an hour or more).
   */
  policySchema(limits: PolicyLimits): z.ZodType<Policy>;
  /** Who may start it: roles or scopes, enforced by the API's auth layer. */
  whoMayStart: string[];
  /** Top-level input fields the requester may edit when an approver asks for changes. */
  editableFields: string[];
  slas: SlaDoc[];
  /** Forms sent to outside parties, by key; the submitted values land in the run's input under that key. */
  forms?: Record<string, ExternalFormDefinition>;
  /** Human tasks its workflow opens, by key; their completion forms are validated by the API before the Update. */
  tasks?: Record<string, TaskDefinition>;
  /**
   * Input fields the run fills in itself (what a task came to, for the next approver's facts): in the input schema
   * so edits keep them, but left out of the start form and refused when a run is started with them, like the
   * answers of `forms`.
   */
  filledByRun?: string[];
  /** Inbound events this process reacts to (POST /events/:source). */
  events?: { starts?: EventStartRoute[]; consumes?: EventConsumeRoute[] };
  /** The process's steps as data, under a policy (thresholds, approvers and deadlines filled in): see diagram.ts. */
  diagram?(policy: Policy): DiagramNode[];
  summarize(input: Input): RunSummary;
  /** Label/value pairs shown to approvers and on run pages. */
  describe(input: Input): Array<{ label: string; value: string }>;
}

/** What a workflow needs of its process, kept free of zod so the workflow bundle can hold it (see <key>-flow.ts). */
export type RunShape<Input> = Pick<ProcessDefinition<Input>, 'key' | 'summarize' | 'describe'>;

/**
 * The single argument every process workflow receives. The policy is resolved before start (its stored version
 * plus any per-run settings), so replay and later policy changes never alter a running process.
 */
export interface RunArgs<Input, Policy> {
  input: Input;
  /** Absent only for scheduled runs, which resolve the policy in force when each one starts. */
  policy?: Policy;
  policyStamp?: PolicyStamp;
  /** The person whose API key started the run (may differ from the requester); kept out of its seats. */
  startedBy?: string;
  /** Per-run overrides as given with runs:configure; for a scheduled run, applied when it starts. */
  settings?: Record<string, unknown>;
  /** Set by a schedule's action: the run records itself, since no API call did. */
  trigger?: { kind: 'schedule'; scheduleId: string };
}
