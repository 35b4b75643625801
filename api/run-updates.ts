import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Response } from 'express';
import type { Run } from '../lib/generated/prisma/client.js';
import type { ApiContext } from './context.js';

/** Who acts on a run (a task, an incident), through which channel, from where. */
export interface RunActor<Channel extends string> {
  email: string;
  channel: Channel;
  ip?: string;
  userAgent?: string;
}

/** How an action ends when its run did not take it: closed meanwhile, not confirmed in time (repeating is safe), or not deliverable. */
export type UnansweredAction = { kind: 'closed'; reason: string } | { kind: 'pending' } | { kind: 'unavailable' };

/**
 * Why a run takes no more actions (`the run is completed`), or undefined while it does. A run still `not_started`
 * does: its start's answer was lost, but its workflow made what the person acts on, so it did start.
 */
export function runNoLongerActs(run: Pick<Run, 'status'>): string | undefined {
  return run.status !== 'running' && run.status !== 'not_started' ? `the run is ${run.status}` : undefined;
}

/**
 * How a person's action that a run decides (a task claimed, an incident acknowledged) came back from its Update:
 * `done` with the run's answer; `pending` when it did not confirm within the decision wait (repeating with the same
 * Update id is safe); `refused` with the ApplicationFailure the validator or handler raised; `failed` otherwise.
 */
export type RunUpdateAnswer<T> = { kind: 'done'; result: T } | { kind: 'pending' } | { kind: 'refused'; cause: ApplicationFailure } | { kind: 'failed'; error: unknown };

export async function executeRunUpdate<T>(ctx: ApiContext, runId: string, update: string, arg: unknown, updateId: string): Promise<RunUpdateAnswer<T>> {
  try {
    const result = await ctx.temporal.withDeadline(Date.now() + (ctx.decisionWaitMs ?? 15_000), () =>
      ctx.temporal.workflow.getHandle(runId).executeUpdate<T, [unknown]>(update, { args: [arg], updateId }),
    );
    return { kind: 'done', result };
  } catch (error) {
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || (error as { code?: number }).code === 4 /* DEADLINE_EXCEEDED */) return { kind: 'pending' };
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) return { kind: 'refused', cause: error.cause };
    return { kind: 'failed', error };
  }
}

/**
 * A refusal the caller has no words of its own for, or a failure: the thing was closed meanwhile (the run moved on
 * or ended), as its records now say, or as the run's refusal says; else the run could not take it (logged).
 */
export async function closedOrUnavailable<Row, Closed>(
  ctx: ApiContext,
  answer: Extract<RunUpdateAnswer<unknown>, { kind: 'refused' | 'failed' }>,
  reload: () => Promise<Row | null>,
  closedBecause: (row: Row) => Closed | undefined,
  log: Record<string, unknown>,
): Promise<Closed | UnansweredAction> {
  const fresh = await reload();
  const closed = fresh && closedBecause(fresh);
  if (closed) return closed;
  if (answer.kind === 'refused') return { kind: 'closed', reason: answer.cause.message };
  ctx.logger.warn({ err: answer.error, ...log }, 'action not delivered to its run');
  return { kind: 'unavailable' };
}

/** What a page or a JSON error says when the run did not answer in time, or could not take the action at all. */
const unansweredText = {
  pending: 'Sent, but the run has not confirmed it yet: reload this page in a minute (sending again is safe).',
  unavailable: 'The run cannot take this right now; nothing was changed. Try again in a few minutes.',
} as const;

/** Why an action on a `thing` (a task, an incident) did not happen, for the ends every such action may have. */
export function notDoneText(thing: string, outcome: UnansweredAction | { kind: 'refused'; message: string } | { kind: 'invalid_form' }): string {
  switch (outcome.kind) {
    case 'closed':
      return `This ${thing} is closed: ${outcome.reason}.`;
    case 'invalid_form':
      return 'Some fields need your attention.';
    case 'refused':
      return `${outcome.message}.`;
    default:
      return unansweredText[outcome.kind];
  }
}

/** A JSON error answer of an action route: `{ error: { code, message, details? } }`. */
export function sendActionError(res: Response, status: number, code: string, message: string, details?: Record<string, unknown>): void {
  res.status(status).json({ error: { code, message, ...(details ? { details } : {}) } });
}

/** The JSON answer of an action its run did not take: 410 closed, 202 pending (repeating is safe), 503 unavailable. */
export function sendUnanswered(res: Response, outcome: UnansweredAction, message: string): void {
  if (outcome.kind === 'pending') return void res.status(202).json({ status: 'pending', message });
  if (outcome.kind === 'closed') return sendActionError(res, 410, 'gone', message);
  sendActionError(res, 503, 'unavailable', message);
}
