import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('runs are searchable in Temporal by process, status and amount', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function ids(query: string): Promise<string[]> {
    const found: string[] = [];
    for await (const execution of stack.temporal.workflow.list({ query: `TaskQueue = '${stack.taskQueue}' AND ${query}` })) {
      found.push(execution.workflowId);
    }
    return found.sort();
  }

  it('finds runs with the same query the Temporal UI and `temporal workflow list --query` take', async () => {
    const start = async (title: string, amount: number, costCenter: string) =>
      (await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount, costCenter }), settings: quickTiming })).body.runId as string;
    const small = await start('Search small', 4_000, 'OPS-100');
    const large = await start('Search large', 150_000, 'OPS-310');
    const medium = await start('Search medium', 60_000, 'FIN-200');

    expect((await submitDecision((await waitForApprovalMail(stack, approvers.lineManager, { subject: /Search small/ })).link, 'approve')).status).toBe(200);
    expect((await submitDecision((await waitForApprovalMail(stack, approvers.lineManager, { subject: /Search medium/ })).link, 'reject', 'Not this year')).status).toBe(200);
    await waitForRunStatus(stack, small, 'completed');
    await waitForRunStatus(stack, medium, 'rejected');
    await waitForApprovalMail(stack, approvers.lineManager, { subject: /Search large/ });

    // Visibility is eventually consistent: poll until the index has caught up.
    const expectQuery = (query: string, expected: string[]) =>
      waitUntil(async () => JSON.stringify(await ids(query)) === JSON.stringify([...expected].sort()), `${query} → ${expected.join(',')}`, 15_000);

    await expectQuery(`OpsflowProcess = 'capex'`, [small, large, medium]);
    await expectQuery(`OpsflowProcess = 'capex' AND OpsflowStatus = 'running' AND OpsflowAmount >= 100000`, [large]);
    await expectQuery(`OpsflowStatus = 'completed' AND OpsflowAmount BETWEEN 1000 AND 10000`, [small]);
    await expectQuery(`OpsflowStatus = 'rejected'`, [medium]);
    await expectQuery(`OpsflowCostCenter = 'OPS-310' AND OpsflowCurrentStep = 'line-manager'`, [large]);
    await expectQuery(`OpsflowCurrentApprover = '${approvers.lineManager}'`, [large]);
    await expectQuery(`OpsflowRequester = '${approvers.requester}' AND OpsflowAmount < 100000`, [small, medium]);
    await stack.temporal.workflow.getHandle(large).cancel();
  });
});
