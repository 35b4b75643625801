import { formatMoney } from './format.js';

/**
 * A process's steps as data, so owners and auditors read its flow without reading code: what each step is, who
 * decides it and how, what adds it (a threshold from the policy in force), which systems it calls and what
 * happens at its deadline. Rendered as SVG (api/pages/diagram.ts); checked against the steps the workflow really
 * runs (test/replay/diagrams.test.ts, from the golden histories).
 */
export type DiagramNodeKind = 'approval' | 'task' | 'system' | 'wait' | 'form' | 'end';

export interface DiagramNode {
  /** The step id the workflow records (`currentStep`, an approval request's step); `*` ends a family (`compliance-review:*`). */
  id: string;
  kind: DiagramNodeKind;
  title: string;
  /** Who decides or acts, in words ("the requester's line manager", "every director, 2 of them"). */
  who?: string;
  /** What adds this step, e.g. "amount ≥ 10,000.00 (policy)". Absent: always. */
  when?: string;
  systems?: string[];
  /** What happens at the deadline ("escalate after 3d, then expire after 2d"). */
  deadline?: string;
  /** Where the run goes instead in the usual other outcome (rejected, withdrawn, short receipts). */
  otherwise?: string;
}

export interface ProcessDiagram {
  process: string;
  policyVersion?: number;
  nodes: DiagramNode[];
}

const roleWords: Record<string, string> = {
  'manager-of-requester': "the requester's line manager",
  'manager-of-approver': "the approver's manager",
};

/** "role:cfo" → "cfo", "each-role:director" → "every director", "manager-of-requester" → "the requester's line manager". */
export function describeApprovers(refs: string[], rule?: { kind: string; required?: number }): string {
  const who = refs
    .map((ref) => roleWords[ref] ?? (ref.startsWith('each-role:') ? `every ${ref.slice(10)}` : ref.startsWith('role:') ? ref.slice(5) : ref.startsWith('person:') ? ref.slice(7) : ref))
    .join(', ');
  if (!rule || rule.kind === 'all') return refs.length > 1 || refs.some((r) => r.startsWith('each-role:')) ? `${who} (all of them)` : who;
  if (rule.kind === 'any') return `${who} (any one)`;
  return `${who} (${rule.required} of them)`;
}

/** The deadline behaviour of a step's timing, in words. */
export function describeDeadline(timing: { reminderAfter: string; timeout: string; onTimeout: string; escalateTo: string; escalationTimeout: string; approveAtDeadlineBelow?: number }, currency = ''): string {
  const remind = `reminders every ${timing.reminderAfter}`;
  switch (timing.onTimeout) {
    case 'escalate':
      return `${remind}; after ${timing.timeout} escalates to ${roleWords[timing.escalateTo] ?? timing.escalateTo.replace(/^role:/, '')}, who has ${timing.escalationTimeout}; then the run expires`;
    case 'reject':
      return `${remind}; after ${timing.timeout} rejected by policy`;
    case 'approve':
      return `${remind}; after ${timing.timeout} approved by policy below ${timing.approveAtDeadlineBelow === undefined ? '?' : formatMoney(timing.approveAtDeadlineBelow, currency).trim()}, else the run expires`;
    default:
      return `${remind}; after ${timing.timeout} the run expires`;
  }
}

export function amountAtLeast(field: string, amount: number): string {
  return `${field} ≥ ${formatMoney(amount, '').trim()} (policy)`;
}

/** How a human task chases its due date, in words. */
export function describeTaskDeadline(due: string, timing: { reminderEvery: string; escalateAfter: string; escalateTo: string }): string {
  const to = timing.escalateTo === 'manager-of-holder' ? "the holder's manager" : timing.escalateTo.replace(/^role:/, '');
  return `due ${due}; once overdue, reminders every ${timing.reminderEvery}; ${timing.escalateAfter} after the due date it goes to ${to}`;
}
