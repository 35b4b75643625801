import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { processes, policySchemaOf } from '../../processes/index.js';
import { productionLimits } from '../../processes/policy.js';
import { goldenHistories } from '../support/replay.js';

/** The step ids a recorded run went through: what it recorded as its current step, the steps it asked approvals for or paged in, and the steps its human tasks belong to. */
function stepsRecorded(history: Awaited<ReturnType<typeof goldenHistories>>[number]['history']): Set<string> {
  const steps = new Set<string>();
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    const payload = scheduled?.input?.payloads?.[0];
    if (!scheduled || !payload) continue;
    const input = defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload);
    const activity = scheduled.activityType?.name ?? '';
    const step =
      activity === 'updateRun' || activity === 'createPurchaseOrder'
        ? input.currentStep
        : ['openApprovalRequest', 'openApprovalStep', 'recordPolicyDecision', 'pageIncident'].includes(activity)
          ? input.stepId
          : activity === 'openTask'
            ? (input.task as { stepId?: string } | undefined)?.stepId
            : undefined;
    // "<step>:changes-requested" is the step waiting on the requester's edit, not a step of its own.
    if (typeof step === 'string' && !step.endsWith(':changes-requested')) steps.add(step);
  }
  return steps;
}

const declares = (ids: string[], step: string) => ids.some((id) => id === step || (id.endsWith(':*') && step.startsWith(id.slice(0, -1))));

/**
 * Each process's diagram (its steps as data) against what its workflow really ran in the golden histories: every
 * step a run went through is in the diagram, and every step the diagram shows was run at least once.
 */
describe('process diagrams match what the workflows run', () => {
  it.each(processes.map((p) => [p.key, p] as const))('%s', async (_key, process) => {
    const declared = (process.diagram?.(policySchemaOf(process, productionLimits).parse({}) as never) ?? []).filter((n) => n.kind !== 'end').map((n) => n.id);
    expect(declared.length, `${process.key} declares its steps`).toBeGreaterThan(0);
    const histories = (await goldenHistories()).filter((h) => h.workflowType === process.workflowType);
    const seen = new Set(histories.flatMap((h) => [...stepsRecorded(h.history)]));
    expect([...seen].filter((step) => !declares(declared, step)), 'steps run but not in the diagram').toEqual([]);
    expect(declared.filter((id) => ![...seen].some((step) => declares([id], step))), 'steps in the diagram no recorded run went through').toEqual([]);
  });
});
