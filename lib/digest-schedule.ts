import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export const DIGEST_SCHEDULE_ID = 'approver-digest';

/**
 * The Schedule behind the approvers' daily digest: every hour at :05, an `approverDigestWorkflow` mails each
 * approver whose local digest hour has passed (once per local day). Created once; an existing one (perhaps paused
 * by an operator) is left as it is.
 */
export async function ensureDigestSchedule(client: Client, taskQueue: string, scheduleId = DIGEST_SCHEDULE_ID): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId,
      spec: { cronExpressions: ['5 * * * *'] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      action: { type: 'startWorkflow', workflowType: 'approverDigestWorkflow', taskQueue, args: [], workflowId: `${scheduleId}-run` },
    });
    return 'created';
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) return 'exists';
    throw error;
  }
}
