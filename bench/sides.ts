import { randomBytes, randomUUID } from 'node:crypto';
import type { CapturedMail } from '../dev/mail-sink.js';
import { DECIDE_UPDATE, type DecisionInput } from '../processes/approval-messages.js';
import { bareDecideUpdate } from './bare/workflows.js';
import { capexApprovers, requesterEmail, type BenchStack } from './stack.js';

/**
 * The two sides of every measure, doing the same job: Opsflow over its HTTP API (a capex run, approvers deciding
 * through the API or the link page) and the bare baseline over the Temporal client (bench/bare/workflows.ts).
 * Both tell the driver the same things the same way: an approver's mail accepted by the SMTP sink, then the
 * requester's final mail once the run is done.
 */
export type SideName = 'opsflow' | 'bare';

const MAIL_TIMEOUT_MS = 180_000;

/** A title no other run's title contains. */
export function uniqueTitle(side: SideName): string {
  return `${side}-${randomBytes(5).toString('hex')}`;
}

/** 3 steps from 100,000 (line manager, finance director, CFO); 2 from 10,000. */
export const capexAmountFor = (steps: 2 | 3) => (steps === 3 ? 250_000 : 25_000);

async function api(stack: BenchStack, path: string, init: RequestInit & { key?: string; base?: string } = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${init.base ?? stack.apiUrl}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${init.key ?? stack.adminKey}`, ...(init.headers as Record<string, string> | undefined) },
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // an HTML page or an empty answer
  }
  return { status: response.status, body };
}

export function capexInput(title: string, steps: 2 | 3) {
  return {
    title,
    amount: capexAmountFor(steps),
    currency: 'EUR',
    costCenter: 'OPS-100',
    category: 'equipment',
    vendor: 'Bench',
    justification: 'Benchmark run, safe to ignore',
    requester: { name: 'Alex Rivera', email: requesterEmail },
  };
}

/** POST /runs; the status is returned so a caller can count 5xx. */
export async function opsflowStart(stack: BenchStack, title: string, steps: 2 | 3, base?: string): Promise<{ status: number; runId?: string }> {
  const { status, body } = await api(stack, '/runs', { method: 'POST', base, body: JSON.stringify({ process: 'capex', input: capexInput(title, steps) }) });
  return { status, runId: status === 201 ? (body as { runId: string }).runId : undefined };
}

export function bareApprovers(steps: 2 | 3): string[] {
  return capexApprovers.slice(0, steps);
}

export async function bareStart(stack: BenchStack, title: string, steps: 2 | 3, taskQueue = stack.bareTaskQueue): Promise<string> {
  await stack.temporal.workflow.start('bareApprovalWorkflow', {
    taskQueue,
    workflowId: title,
    args: [{ title, approvers: bareApprovers(steps), requester: requesterEmail }],
  });
  return title;
}

export function approvalMail(stack: BenchStack, title: string, approver: string): Promise<CapturedMail> {
  return stack.mail.waitFor((m) => m.subject.includes(title) && m.to.includes(approver) && !m.subject.startsWith('Your request'), { timeoutMs: MAIL_TIMEOUT_MS });
}

/** The requester's last mail: the run is done (Opsflow: "Your request was approved: …"; bare: "…: approved"). */
export function completionMail(stack: BenchStack, side: SideName, title: string): Promise<CapturedMail> {
  const subject = side === 'opsflow' ? `Your request was approved: ${title}` : `${title}: approved`;
  return stack.mail.waitFor((m) => m.subject === subject && m.to.includes(requesterEmail), { timeoutMs: MAIL_TIMEOUT_MS });
}

export function linkToken(mail: CapturedMail): string {
  const token = /\/approvals\/([A-Za-z0-9_~.-]+)/.exec(mail.text)?.[1];
  if (!token) throw new Error(`No approval link in "${mail.subject}"`);
  return token;
}

/** What the approver's page shows (GET, not timed): the version the form posts. */
export async function linkPageVersion(stack: BenchStack, token: string): Promise<string> {
  const page = await (await fetch(`${stack.apiUrl}/approvals/${token}`)).text();
  const version = /name="version" value="([0-9a-f]{64})"/.exec(page)?.[1];
  if (!version) throw new Error(`The approval page has no version: ${page.slice(0, 300)}`);
  return version;
}

/** The approver presses Approve on the link page: resolves when the API has answered. */
export async function opsflowDecideByLink(stack: BenchStack, token: string, version: string): Promise<void> {
  const response = await fetch(`${stack.apiUrl}/approvals/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision: 'approve', version }).toString(),
  });
  const page = await response.text();
  if (response.status !== 200) throw new Error(`Link decision answered ${response.status}: ${page.slice(0, 300)}`);
}

/** GET /runs/:id/decisions with the approver's key: the version to decide on and their open requests on the run. */
async function openDecisions(stack: BenchStack, runId: string, approver: string): Promise<{ version: string; open: Array<{ requestId: string }> }> {
  const { status, body } = await api(stack, `/runs/${runId}/decisions`, { key: stack.approverKeys[approver] });
  if (status !== 200) throw new Error(`GET decisions answered ${status}: ${JSON.stringify(body)}`);
  return body as { version: string; open: Array<{ requestId: string }> };
}

/** The version GET /runs/:id/decisions gives the approver (asked once per run: it changes only with an edit). */
export async function opsflowDecisionVersion(stack: BenchStack, runId: string, approver: string): Promise<string> {
  return (await openDecisions(stack, runId, approver)).version;
}

/** The approver's open request on a run and the version to decide on: what `opsflowDecideByUpdate` sends (read before it is timed). */
export async function opsflowOpenRequest(stack: BenchStack, runId: string, approver: string): Promise<{ requestId: string; version: string }> {
  const { version, open } = await openDecisions(stack, runId, approver);
  if (!open[0]) throw new Error(`${approver} has no open request on ${runId}`);
  return { requestId: open[0].requestId, version };
}

/**
 * The decision the API would send, sent straight to the run as its Update (as the API does it: the request id as the
 * Update id), with no HTTP API in front: the Opsflow workflow's share of a decision's answer, beside bare's.
 */
export async function opsflowDecideByUpdate(stack: BenchStack, runId: string, approver: string, open: { requestId: string; version: string }): Promise<void> {
  const input: DecisionInput = { requestId: open.requestId, decision: 'approved', comment: null, actorEmail: approver, channel: 'api', nonce: randomUUID(), version: open.version };
  await stack.temporal.workflow.getHandle(runId).executeUpdate(DECIDE_UPDATE, { args: [input], updateId: open.requestId });
}

/** How often POST /runs answered 5xx during whole runs and was tried again. */
export const serverErrors = { count: 0 };

/** How often a decision was answered 202 (the run did not confirm within the API's wait) and sent again. */
export const pendingDecisions = { count: 0 };

/** As an integration does: a 202 (sent, not yet confirmed) is repeated, which is safe (same Update id). */
export async function opsflowDecideByApi(stack: BenchStack, runId: string, approver: string, version: string): Promise<void> {
  for (let repeated = false; ; repeated = true) {
    const { status, body } = await api(stack, `/runs/${runId}/decisions`, {
      method: 'POST',
      key: stack.approverKeys[approver],
      body: JSON.stringify({ decision: 'approve', version }),
    });
    if (status === 200) return;
    // The repeat of a decision that did land meanwhile is told it was already decided (by this approver).
    if (repeated && status === 409 && JSON.stringify(body).includes(`Already decided: approved by ${approver}`)) return;
    if (status !== 202) throw new Error(`POST decisions answered ${status}: ${JSON.stringify(body)}`);
    pendingDecisions.count++;
  }
}

export async function bareDecide(stack: BenchStack, workflowId: string, approver: string, step: number): Promise<void> {
  await stack.temporal.workflow.getHandle(workflowId).executeUpdate(bareDecideUpdate, { args: [{ approver, decision: 'approved' }], updateId: `${workflowId}:${step}` });
}

/** Until the run has nothing scheduled (no activity, no workflow task): what an approver finds who clicks later. */
export async function untilIdle(stack: BenchStack, workflowId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { raw } = await stack.temporal.workflow.getHandle(workflowId).describe();
    if (!raw.pendingWorkflowTask && (raw.pendingActivities ?? []).length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${workflowId} did not go idle within ${timeoutMs} ms`);
}

/** One whole run, every approver deciding as soon as their mail arrives; resolves at the requester's last mail. */
export async function completeRun(stack: BenchStack, side: SideName, steps: 2 | 3): Promise<string> {
  const title = uniqueTitle(side);
  if (side === 'bare') {
    await bareStart(stack, title, steps);
    for (const [step, approver] of bareApprovers(steps).entries()) {
      await approvalMail(stack, title, approver);
      await bareDecide(stack, title, approver, step);
    }
  } else {
    let started = await opsflowStart(stack, title, steps);
    // Overloaded, the API may answer 5xx: an integration tries again (counted, and reported with the figures).
    for (let attempt = 1; !started.runId && started.status >= 500 && attempt < 10; attempt++) {
      serverErrors.count++;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      started = await opsflowStart(stack, title, steps);
    }
    const { status, runId } = started;
    if (!runId) throw new Error(`POST /runs answered ${status}`);
    let version: string | undefined;
    for (const approver of capexApprovers.slice(0, steps)) {
      await approvalMail(stack, title, approver);
      version ??= await opsflowDecisionVersion(stack, runId, approver);
      await opsflowDecideByApi(stack, runId, approver, version);
    }
    await completionMail(stack, side, title);
    return runId;
  }
  await completionMail(stack, side, title);
  return title;
}
