import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

/** Mail retried for a day: SMTP being down for hours must not lose a sign-in link or a digest. */
const mail = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  scheduleToCloseTimeout: '1 day',
});

/** Sends one "My approvals" sign-in link (workflow id `sign-in-<linkId>`, so a repeat start is the same mail). */
export async function signInLinkWorkflow(linkId: string): Promise<{ sent: boolean }> {
  return mail.sendSignInLink(linkId);
}

/**
 * The approvers' daily digest, started by the Schedule `approver-digest` (every hour: each person gets theirs
 * once their local digest hour has passed, one per local day).
 */
export async function approverDigestWorkflow(): Promise<{ sent: number; due: number }> {
  return mail.sendDueDigests(new Date(workflowInfo().startTime).toISOString());
}
