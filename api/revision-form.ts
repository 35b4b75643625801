import type { Request, Response } from 'express';
import { fieldIssues } from '../lib/errors.js';
import type { ApprovalRequest, Run } from '../lib/generated/prisma/client.js';
import { REVISE_UPDATE, type ReviseInput } from '../processes/approval-messages.js';
import { findProcess } from '../processes/index.js';
import { sendResult, submitThroughLink } from './approval-service.js';
import type { ApiContext } from './context.js';
import { fieldsFromSchema, inputJsonSchema, valuesFromForm } from './form-fields.js';
import { approvalResultPage, formatDateTime } from './pages/approval.js';
import { revisionPage, type FormField } from './pages/revision.js';

/** The editable fields as form controls, typed from the process's JSON Schema. */
function formFields(run: Run, values: Record<string, unknown>, errors: Record<string, string> = {}): FormField[] {
  const process = findProcess(run.process);
  return process ? fieldsFromSchema(inputJsonSchema(process), values, errors, process.editableFields) : [];
}

export async function renderRevisionPage(
  ctx: ApiContext,
  token: string,
  request: ApprovalRequest,
  run: Run,
  values: Record<string, unknown>,
  errors?: Record<string, string>,
): Promise<string> {
  const asked = await ctx.db.approvalRequest.findFirst({
    where: { runId: run.id, stepId: request.stepId, decision: 'changes_requested' },
    orderBy: { usedAt: 'desc' },
  });
  return revisionPage({
    token,
    processTitle: findProcess(run.process)?.title ?? run.process,
    runTitle: run.title,
    stepTitle: request.stepTitle,
    askedBy: asked?.approverName ?? 'An approver',
    comment: request.comment ?? '',
    expiresAt: formatDateTime(request.expiresAt),
    fields: formFields(run, values, errors),
    error: errors ? 'Some fields need your attention.' : undefined,
  });
}

/** Untouched fields keep the run's current input. */
function editedInput(run: Run, body: Record<string, unknown>): Record<string, unknown> {
  const process = findProcess(run.process)!;
  return { ...(run.input as Record<string, unknown>), ...valuesFromForm(inputJsonSchema(process), body, process.editableFields) };
}

/** Validates the edit with the process's own input schema, then hands it to the run as the `revise` Update. */
export async function submitRevision(ctx: ApiContext, req: Request, res: Response, token: string, request: ApprovalRequest, run: Run): Promise<void> {
  const process = findProcess(run.process);
  if (!process) return void res.status(409).type('html').send(approvalResultPage({ kind: 'closed' }).html);
  const input = editedInput(run, (req.body ?? {}) as Record<string, unknown>);
  const parsed = process.inputSchema.safeParse(input);
  if (!parsed.success) {
    const errors = Object.fromEntries(fieldIssues(parsed.error.issues).map((i) => [i.path.split('.')[0]!, i.message]));
    return void res.status(422).type('html').send(await renderRevisionPage(ctx, token, request, run, input, errors));
  }
  const note = typeof req.body?._note === 'string' ? req.body._note.trim() : '';
  const update: ReviseInput = {
    requestId: request.id,
    input: parsed.data as Record<string, unknown>,
    actorEmail: request.approverEmail,
    comment: note || null,
    ip: req.ip,
    userAgent: req.get('user-agent')?.slice(0, 500),
  };
  const refused = await submitThroughLink(ctx, request, REVISE_UPDATE, update);
  sendResult(res, refused ?? { kind: 'revised', runTitle: process.summarize(parsed.data).title, stepTitle: request.stepTitle });
}
