import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * The patch baseline (workflows/patches.ts): a run started today records one patch marker and takes every patch the
 * baseline folds in, instead of a marker and a TemporalChangeVersion upsert per patch. Runs that began before it
 * replay their own markers (the replay test's older generations).
 */
describe('a new run takes the patch baseline with one marker', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('an approved 3-step capex run records only the newest baseline marker and still takes the patched paths', async () => {
    const title = 'Patch baseline';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 120_000 }), settings: quickTiming });
    const runId = body.runId as string;
    for (const approver of [approvers.lineManager, approvers.financeDirector, approvers.cfo]) {
      const mail = await waitForApprovalMail(stack, approver, { subject: new RegExp(title) });
      expect((await submitDecision(mail.link, 'approve')).status).toBe(200);
    }
    await waitForRunStatus(stack, runId, 'completed');

    const events = (await stack.temporal.workflow.getHandle(runId).fetchHistory()).events ?? [];
    const markers = events.flatMap((e) => (e.markerRecordedEventAttributes ? [e.markerRecordedEventAttributes] : []));
    const patches = markers
      .filter((m) => m.markerName === 'core_patch')
      .map((m) => (defaultPayloadConverter.fromPayload(m.details!['patch-data']!.payloads![0]!) as { id: string }).id);
    expect(patches).toEqual(['baseline-2026-12d']);
    const versionUpserts = events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TemporalChangeVersion);
    expect(versionUpserts).toHaveLength(1);

    // The baseline's patches are in force: each step opened by one activity that looks its approver up, records and
    // mails the request (no approverCandidates, openApprovalRequest or updateRun); decision records carried by what
    // follows (no recordDecision: the last one by the purchase order's activity); the close, its audit entry and the
    // requester's notice in one activity (no local activity for the close, no notifyRequester).
    const activities = events.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));
    expect(activities).toEqual(['openApprovalStep', 'openApprovalStep', 'openApprovalStep', 'createPurchaseOrder', 'closeRun']);
    expect(markers.filter((m) => m.markerName === 'core_local_activity')).toHaveLength(0);
    // Started by the API with tracing off: the run has no OpenTelemetry interceptors, so its commands carry no trace
    // header (test/api/tracing.test.ts holds the traced side).
    const scheduled = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
    expect(scheduled.filter((a) => a.header?.fields?.['_tracer-data'])).toEqual([]);
  });

  it('an untraced run waiting in the worker holds no OpenTelemetry tracer', async () => {
    const title = 'Untraced wait';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 1_200 }), settings: quickTiming });
    const runId = body.runId as string;
    const mail = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    // The SDK's stack trace query lists the run's pending promises: the run's own wait, and (when its interceptors
    // were built) the tracer's span processor, whose promise stays pending for as long as the run is cached.
    const handle = stack.temporal.workflow.getHandle(runId);
    const stacks = await waitUntil(async () => {
      const trace = await handle.query<string>('__stack_trace');
      return /waitForOutcome/.test(trace) ? trace : undefined;
    }, 'the run waiting for its first decision');
    expect(stacks).not.toMatch(/opentelemetry/i);
    expect((await submitDecision(mail.link, 'reject', 'not now')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'rejected');
  });
});
