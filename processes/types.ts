import type { z } from 'zod';

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

/**
 * A process as the API, docs and catalog see it. The registry (processes/index.ts) lists these; nothing else
 * needs editing to add one. `workflowType` is the exported name of the workflow function in workflows/.
 */
export interface ProcessDefinition<Input = unknown, Settings = unknown> {
  key: string;
  title: string;
  description: string;
  workflowType: string;
  /** Task queue override; by default runs go to the worker's TEMPORAL_TASK_QUEUE. */
  taskQueue?: string;
  inputSchema: z.ZodType<Input>;
  /** Per-run tunables (thresholds, reminder and SLA durations). Every field has a default. */
  settingsSchema: z.ZodType<Settings>;
  /** Who may start it: roles or scopes, enforced by the API's auth layer. */
  whoMayStart: string[];
  /** Top-level input fields the requester may edit when an approver asks for changes. */
  editableFields: string[];
  slas: SlaDoc[];
  summarize(input: Input): RunSummary;
  /** Label/value pairs shown to approvers and on run pages. */
  describe(input: Input): Array<{ label: string; value: string }>;
}

/** The single argument every process workflow receives. Settings are resolved before start, so replay is stable. */
export interface RunArgs<Input, Settings> {
  input: Input;
  settings: Settings;
}
