import type { Request, Response } from 'express';
import { z } from 'zod';
import { hasScope } from '../../lib/api-keys.js';
import type { Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import type { Prisma } from '../../lib/db.js';
import { TaskRefusal, taskStatuses, type TaskStatus } from '../../processes/task-messages.js';
import { requireIdentity } from '../auth.js';
import type { ApiContext } from '../context.js';
import { formJsonSchema } from '../form-fields.js';
import { defineRoute } from '../route-table.js';
import { sendActionError, sendUnanswered } from '../run-updates.js';
import { actOnTask, findTask, offeredTo, outcomeText, reassignTask, taskDefinitionOf, type TaskActionKind, type TaskActionOutcome, type TaskWithRun } from '../task-service.js';

const timestamp = z.iso.datetime();
const taskPersonSchema = z.object({ email: z.string(), name: z.string() });

export const taskViewSchema = z
  .object({
    taskId: z.string().meta({ example: 'launch-readiness-5f0c2a9e-3b7d-4e61-9d0a-1f2e3d4c5b6a:task:marketing:1' }),
    runId: z.string(),
    runTitle: z.string(),
    process: z.string(),
    key: z.string().describe("The process's task definition, whose form completes it"),
    step: z.string(),
    title: z.string(),
    instructions: z.string(),
    status: z.enum(taskStatuses as [TaskStatus, ...TaskStatus[]]),
    candidateGroup: z.string().nullable().describe('The directory role whose holders may claim it; null for a task given to a person'),
    holder: taskPersonSchema.nullable(),
    dueAt: timestamp,
    followUpAt: timestamp.nullable(),
    overdue: z.boolean(),
    createdAt: timestamp,
    firstClaimedAt: timestamp.nullable(),
    completedAt: timestamp.nullable(),
    completedBy: z.string().nullable(),
    result: z.record(z.string(), z.unknown()).nullable().describe("The completion form's values"),
    remindersSent: z.number().int(),
    escalatedTo: z.string().nullable(),
    closedReason: z.string().nullable(),
  })
  .meta({ id: 'Task' });

const taskDetailSchema = taskViewSchema
  .extend({
    offeredTo: z.array(taskPersonSchema).describe('Everyone whose link works now: the group while nobody holds it, else the holder'),
    form: z.unknown().describe('The completion form as JSON Schema: POST /tasks/{id}/complete sends its values'),
  })
  .meta({ id: 'TaskDetail' });

function taskView(task: TaskWithRun, now = new Date()) {
  const open = ['open', 'claimed', 'assigned'].includes(task.status);
  return {
    taskId: task.id,
    runId: task.runId,
    runTitle: task.run.title,
    process: task.run.process,
    key: task.taskKey,
    step: task.stepId,
    title: task.title,
    instructions: task.instructions,
    status: task.status as TaskStatus,
    candidateGroup: task.candidateGroup,
    holder: task.holderEmail ? { email: task.holderEmail, name: task.holderName ?? task.holderEmail } : null,
    dueAt: task.dueAt.toISOString(),
    followUpAt: task.followUpAt?.toISOString() ?? null,
    overdue: open && task.dueAt < now,
    createdAt: task.createdAt.toISOString(),
    firstClaimedAt: task.firstClaimedAt?.toISOString() ?? null,
    completedAt: task.completedAt?.toISOString() ?? null,
    completedBy: task.completedBy,
    result: (task.result ?? null) as Record<string, unknown> | null,
    remindersSent: task.remindersSent,
    escalatedTo: task.escalatedTo,
    closedReason: task.closedReason,
  };
}

const listQuerySchema = z.object({
  mine: z.enum(['true', 'false']).optional().describe("Only tasks the key's person holds or that are offered to them"),
  group: z.string().min(1).optional().describe('Only tasks of this candidate group (a role, e.g. marketing)'),
  status: z.enum(taskStatuses as [TaskStatus, ...TaskStatus[]]).optional(),
  runId: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Tasks the person holds, and those offered to them now (their link works). */
async function mineFilter(db: Db, email: string): Promise<Prisma.TaskWhereInput> {
  const offered = await db.approvalRequest.findMany({ where: { kind: 'task', approverEmail: email, usedAt: null, revokedAt: null }, select: { stepId: true } });
  return { OR: [{ holderEmail: email }, { id: { in: offered.map((o) => o.stepId) } }] };
}

/** runs:read sees every task; tasks:write alone sees the key's person's own. */
async function mayRead(ctx: ApiContext, req: Request, task?: TaskWithRun): Promise<{ all: boolean; email: string }> {
  const identity = requireIdentity(req);
  if (hasScope(identity, 'runs:read')) return { all: true, email: identity.email };
  if (!hasScope(identity, 'tasks:write')) throw new AppError('forbidden', 'This API key lacks the "runs:read" or "tasks:write" scope', { requiredScope: 'runs:read' });
  if (task) {
    const own = task.holderEmail === identity.email || (await ctx.db.approvalRequest.count({ where: { kind: 'task', stepId: task.id, approverEmail: identity.email } })) > 0;
    if (!own) throw new AppError('forbidden', `Task ${task.id} is not offered to ${identity.email}; reading other people's tasks needs "runs:read"`, { requiredScope: 'runs:read' });
  }
  return { all: false, email: identity.email };
}

async function taskOr404(ctx: ApiContext, id: string): Promise<TaskWithRun> {
  const task = await findTask(ctx.db, id);
  if (!task) throw new AppError('not_found', `No task ${id}`);
  return task;
}

/** The JSON answer for each way a task action can end: the same rules as its page, as status codes. */
async function answer(ctx: ApiContext, res: Response, task: TaskWithRun, outcome: TaskActionOutcome): Promise<void> {
  if (outcome.kind === 'done') return void res.json(taskView((await findTask(ctx.db, task.id)) ?? task));
  const message = outcomeText(outcome);
  const error = (status: number, code: string, details?: Record<string, unknown>) => sendActionError(res, status, code, message, details);
  switch (outcome.kind) {
    case 'held_by_other':
      return error(409, 'conflict', { heldBy: outcome.holder });
    case 'already_completed':
      return error(409, 'conflict', { completedBy: outcome.by });
    case 'invalid_form':
      return error(422, 'validation_failed', { issues: Object.entries(outcome.errors).map(([path, message]) => ({ path: path === 'reason' ? 'reason' : `values.${path}`, message })) });
    case 'refused':
      if (outcome.refusal === TaskRefusal.separationOfDuties) return error(422, 'separation_of_duties');
      if (outcome.refusal === TaskRefusal.notCandidate || outcome.refusal === TaskRefusal.notHolder) return error(403, 'forbidden');
      return error(409, 'conflict', { refusal: outcome.refusal });
    default:
      return sendUnanswered(res, outcome, message);
  }
}

const taskParams = z.object({ id: z.string().meta({ example: 'launch-readiness-5f0c2a9e-3b7d-4e61-9d0a-1f2e3d4c5b6a:task:marketing:1' }) });
const pendingSchema = z.object({ status: z.literal('pending'), message: z.string() });
const actionErrors = {
  403: 'The task is not offered to the key’s person, or they do not hold it',
  404: 'No such task',
  409: 'Someone else holds it (details.heldBy says who), it was already completed, or the action does not fit its state',
  410: 'The task is closed (its run moved on or ended)',
  422: 'Invalid body, form values (issues name values.<field>), or separation of duties',
};

/** Claim, unclaim, hand back and complete: the key's person acts on a task, through the same Updates as its page. */
function actionRoute(action: TaskActionKind, path: string, summary: string, body?: z.ZodObject, bodyExample?: unknown) {
  return defineRoute({
    method: 'post',
    path: `/tasks/:id/${path}`,
    operationId: `${action === 'hand_back' ? 'handBack' : action}Task`,
    tag: 'Tasks',
    summary,
    scope: 'tasks:write',
    request: { params: taskParams, ...(body ? { body, bodyExample } : {}) },
    responses: { 200: { description: 'Done: the task as it stands now', schema: taskViewSchema }, 202: { description: 'Sent; the run has not confirmed it yet. Repeating is safe.', schema: pendingSchema } },
    errors: actionErrors,
    async handler(ctx, { req, res, params, body: parsed, annotate }) {
      const task = await taskOr404(ctx, params.id);
      annotate({ runId: task.runId, process: task.run.process, step: task.stepId });
      const identity = requireIdentity(req);
      const { values, reason } = (parsed ?? {}) as { values?: unknown; reason?: string };
      const outcome = await actOnTask(ctx, task, action, { email: identity.email, channel: 'api', ip: req.ip, userAgent: req.get('user-agent') }, { values, reason });
      await answer(ctx, res, task, outcome);
    },
  });
}

export const taskRoutes = [
  defineRoute({
    method: 'get',
    path: '/tasks',
    operationId: 'listTasks',
    tag: 'Tasks',
    summary: 'Human tasks, soonest due first: all of them, or only the key holder’s (mine=true), by group, status or run',
    accessNote: 'runs:read, or tasks:write for the key’s own tasks',
    request: { query: listQuerySchema },
    responses: { 200: { description: 'Tasks', schema: z.object({ items: z.array(taskViewSchema) }) } },
    async handler(ctx, { req, res, query }) {
      const access = await mayRead(ctx, req);
      const mine = query.mine === 'true' || !access.all;
      const where: Prisma.TaskWhereInput = {
        ...(query.group ? { candidateGroup: query.group.replace(/^role:/, '') } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.runId ? { runId: query.runId } : {}),
        ...(mine ? await mineFilter(ctx.db, access.email) : {}),
      };
      const tasks = await ctx.db.task.findMany({ where, include: { run: true }, orderBy: [{ dueAt: 'asc' }, { id: 'asc' }], take: query.limit });
      const now = new Date();
      res.json({ items: tasks.map((task) => taskView(task, now)) });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/tasks/:id',
    operationId: 'getTask',
    tag: 'Tasks',
    summary: 'A task: its state, who it is offered to, and its completion form as JSON Schema',
    accessNote: 'runs:read, or tasks:write for a task offered to the key’s person',
    request: { params: taskParams },
    responses: { 200: { description: 'The task', schema: taskDetailSchema } },
    errors: { 404: 'No such task' },
    async handler(ctx, { req, res, params, annotate }) {
      const task = await taskOr404(ctx, params.id);
      annotate({ runId: task.runId, process: task.run.process, step: task.stepId });
      await mayRead(ctx, req, task);
      const definition = taskDefinitionOf(task);
      res.json({ ...taskView(task), offeredTo: await offeredTo(ctx.db, task.id), form: definition ? formJsonSchema(definition.schema) : null });
    },
  }),

  actionRoute('claim', 'claim', 'Claim a task offered to the key holder’s group; if someone else holds it, 409 says who'),
  actionRoute('unclaim', 'unclaim', 'Give a claimed task back to its group'),
  actionRoute('hand_back', 'hand-back', 'Hand back a task the key holder cannot do, with the reason: to its group, or on to its escalation target', z.object({ reason: z.string().max(2000) }), { reason: 'On leave from Monday' }),
  actionRoute('complete', 'complete', 'Complete a task with its form’s values (validated with the task’s own schema)', z.object({ values: z.record(z.string(), z.unknown()) }), {
    values: { ready: true, confirmedCapacity: 6000, notes: 'Second shift from week 10' },
  }),

  /** Ops staff give the task to another person; everyone else's link stops working. */
  defineRoute({
    method: 'post',
    path: '/tasks/:id/reassign',
    operationId: 'reassignTask',
    tag: 'Tasks',
    summary: 'Give a task to another person',
    scope: 'runs:manage',
    request: { params: taskParams, body: z.object({ to: z.email('must be an e-mail address'), reason: z.string().trim().max(500).optional() }) },
    responses: { 200: { description: 'Reassigned: the task as it stands now', schema: taskViewSchema }, 202: { description: 'Sent; not confirmed yet', schema: pendingSchema } },
    errors: { ...actionErrors, 422: 'Unknown person, or separation of duties' },
    async handler(ctx, { req, res, params, body, annotate }) {
      const task = await taskOr404(ctx, params.id);
      annotate({ runId: task.runId, process: task.run.process, step: task.stepId });
      const identity = requireIdentity(req);
      const target = await ctx.db.person.findUnique({ where: { email: body.to.toLowerCase() } });
      if (!target) throw new AppError('validation_failed', `${body.to} is not in the directory`, { issues: [{ path: 'to', message: 'not in the directory' }] });
      const actor = { email: identity.email, channel: 'api' as const, ip: req.ip, userAgent: req.get('user-agent') };
      await answer(ctx, res, task, await reassignTask(ctx, task, { taskId: task.id, toEmail: target.email, actorEmail: identity.email, reason: body.reason }, actor));
    },
  }),
];
