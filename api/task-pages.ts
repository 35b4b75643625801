import type { Request, Response } from 'express';
import type { ApprovalRequest } from '../lib/generated/prisma/client.js';
import { findProcess } from '../processes/index.js';
import type { TaskChannel } from '../processes/task-messages.js';
import { sendResult } from './approval-service.js';
import type { ApiContext } from './context.js';
import { fieldsFromSchema, formControls, formJsonSchema, valuesFromForm } from './form-fields.js';
import { taskPage } from './pages/task.js';
import { actOnTask, allowedActions, closedBecause, findTask, outcomeText, taskDefinitionOf, type TaskActionKind, type TaskActionOutcome, type TaskWithRun } from './task-service.js';

/** Whose page it is and how their forms reach us: the mailed link, or My approvals. */
export interface TaskPageContext {
  viewer: { email: string; name: string };
  channel: TaskChannel;
  /** Where the page's forms post. */
  formAction: string;
  /** Whether the task is offered to the viewer now (their link works): they may claim or complete an open task. */
  offered(): Promise<boolean>;
  back?: string;
  /** Sends the page (My approvals adds the session's CSRF token to its forms). */
  send(res: Response, html: string, status: number): void;
}

interface PageState {
  notice?: string;
  error?: string;
  values?: Record<string, unknown>;
  errors?: Record<string, string>;
  reason?: { value: string; error?: string };
}

/** The completed task's answers, labelled as its form labels them. */
function answersOf(task: TaskWithRun): Array<{ label: string; value: string }> {
  const definition = taskDefinitionOf(task);
  const result = (task.result ?? {}) as Record<string, unknown>;
  if (!definition) return Object.entries(result).map(([label, value]) => ({ label, value: String(value) }));
  return fieldsFromSchema(formJsonSchema(definition.schema), result)
    .filter((f) => f.value !== '')
    .map((f) => ({ label: f.label.replace(/ \(optional\)$/, ''), value: f.type === 'checkbox' ? (f.value === 'true' ? 'Yes' : 'No') : f.value }));
}

export async function renderTaskPage(task: TaskWithRun, page: TaskPageContext, state: PageState = {}): Promise<string> {
  const process = findProcess(task.run.process);
  const definition = taskDefinitionOf(task);
  const closed = closedBecause(task);
  return taskPage({
    formAction: page.formAction,
    processTitle: process?.title ?? task.run.process,
    runTitle: task.run.title,
    title: task.title,
    instructions: task.instructions,
    details: process ? process.describe(task.run.input) : [],
    group: task.candidateGroup,
    dueAt: task.dueAt,
    overdue: !closed && task.dueAt.getTime() < Date.now(),
    status: task.status,
    holder: task.holderEmail ? { email: task.holderEmail, name: task.holderName ?? task.holderEmail } : null,
    viewer: page.viewer,
    can: allowedActions(task, page.viewer.email, await page.offered()),
    ...(definition ? formControls(definition.schema, state.values ?? {}, state.errors, definition.rows ?? 0) : { fields: [], generalErrors: [] }),
    completed: task.status === 'completed' ? { by: task.holderName ?? task.completedBy ?? 'someone', at: task.completedAt ?? task.updatedAt, answers: answersOf(task) } : undefined,
    closedReason: closed?.kind === 'closed' ? closed.reason : null,
    notice: state.notice,
    error: state.error,
    reason: state.reason,
    back: page.back,
  });
}

const actions: readonly TaskActionKind[] = ['claim', 'unclaim', 'hand_back', 'complete'];

const doneNotice: Record<TaskActionKind, string> = {
  claim: 'You hold this task now.',
  unclaim: 'You unclaimed it: it is open for the group again.',
  hand_back: 'Handed back: it has gone on, with your reason.',
  complete: 'Task completed. Thank you.',
};

const statusOf: Record<TaskActionOutcome['kind'], number> = {
  done: 200,
  held_by_other: 409,
  already_completed: 409,
  closed: 410,
  invalid_form: 422,
  refused: 403,
  pending: 202,
  unavailable: 503,
};

/** A form post from the task's page: the action through the run, then the page again as the records now stand. */
export async function postTaskPage(ctx: ApiContext, req: Request, res: Response, task: TaskWithRun, page: TaskPageContext): Promise<void> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const action = actions.find((a) => a === body.action);
  if (!action) return page.send(res, await renderTaskPage(task, page, { error: 'Choose what to do with the task.' }), 422);
  const definition = taskDefinitionOf(task);
  const values = action === 'complete' && definition ? valuesFromForm(formJsonSchema(definition.schema), body, undefined, definition.rows ?? 0) : undefined;
  const reason = typeof body.reason === 'string' ? body.reason : '';
  const outcome = await actOnTask(ctx, task, action, { email: page.viewer.email, channel: page.channel, ip: req.ip, userAgent: req.get('user-agent') }, { values, reason });
  // The Update answered after the task's records were written: the page shows what is now true.
  const fresh = (await findTask(ctx.db, task.id)) ?? task;
  const state: PageState =
    outcome.kind === 'done'
      ? { notice: doneNotice[action] }
      : outcome.kind === 'invalid_form' && action === 'hand_back'
        ? { error: outcomeText(outcome), reason: { value: reason, error: outcome.errors.reason } }
        : outcome.kind === 'invalid_form'
          ? { error: outcomeText(outcome), values, errors: outcome.errors }
          : { error: outcomeText(outcome), ...(action === 'complete' ? { values } : {}) };
  page.send(res, await renderTaskPage(fresh, page, state), statusOf[outcome.kind]);
}

/** Whether the person has a working link to the task (it is offered to them now). */
export async function isOffered(ctx: ApiContext, taskId: string, email: string): Promise<boolean> {
  return (await ctx.db.approvalRequest.count({ where: { kind: 'task', stepId: taskId, approverEmail: email.toLowerCase(), usedAt: null, revokedAt: null } })) > 0;
}

/** The mailed link's page: it acts as the link's person while the link works (it stops when the task moves on). */
function linkPageContext(ctx: ApiContext, token: string, link: ApprovalRequest): TaskPageContext {
  return {
    viewer: { email: link.approverEmail, name: link.approverName },
    channel: 'link',
    formAction: `/approvals/${encodeURIComponent(token)}`,
    offered: () => isOffered(ctx, link.stepId, link.approverEmail),
    send: (res, html, status) => void res.status(status).type('html').send(html),
  };
}

const deadLink = (link: ApprovalRequest, now = new Date()) =>
  link.usedAt
    ? 'This link was used: the task is done.'
    : link.revokedAt
      ? `This link no longer works: ${link.revokedReason ?? 'the task moved on'}.`
      : link.expiresAt <= now
        ? 'This link has expired.'
        : undefined;

/** GET of a task's link: its page, read-only once the link stopped working (the task went to someone else, or closed). */
export async function showTaskLink(ctx: ApiContext, res: Response, token: string, link: ApprovalRequest): Promise<void> {
  const task = await findTask(ctx.db, link.stepId);
  if (!task) return sendResult(res, { kind: 'not_found' });
  const page = linkPageContext(ctx, token, link);
  page.send(res, await renderTaskPage(task, page, { notice: deadLink(link) }), 200);
}

/** POST of a task's link: only while the link works. */
export async function postTaskLink(ctx: ApiContext, req: Request, res: Response, token: string, link: ApprovalRequest): Promise<void> {
  const task = await findTask(ctx.db, link.stepId);
  if (!task) return sendResult(res, { kind: 'not_found' });
  const page = linkPageContext(ctx, token, link);
  const dead = deadLink(link);
  if (dead) return page.send(res, await renderTaskPage(task, page, { error: dead }), 410);
  await postTaskPage(ctx, req, res, task, page);
}
