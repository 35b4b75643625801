import type { Request, Response } from 'express';
import type { ApprovalRequest, Run } from '../lib/generated/prisma/client.js';
import { SUBMIT_FORM_UPDATE, type FormSubmission } from '../processes/approval-messages.js';
import { findProcess } from '../processes/index.js';
import type { ExternalFormDefinition } from '../processes/types.js';
import { sendResult, submitThroughLink } from './approval-service.js';
import type { ApiContext } from './context.js';
import { checkFormPost, formControls } from './form-fields.js';
import { approvalResultPage, formatDateTime } from './pages/approval.js';
import { externalFormPage } from './pages/external-form.js';

function formOf(run: Run, request: ApprovalRequest): ExternalFormDefinition | undefined {
  return findProcess(run.process)?.forms?.[request.stepId];
}

export function renderExternalForm(token: string, request: ApprovalRequest, run: Run, values: Record<string, unknown>, errors?: Record<string, string>): string {
  const form = formOf(run, request)!;
  return externalFormPage({
    token,
    title: form.title,
    intro: form.intro,
    recipientName: request.approverName,
    expiresAt: formatDateTime(request.expiresAt),
    ...formControls(form.schema, values, errors, form.rows ?? 2),
    hasErrors: !!errors,
  });
}

/** Validates with the process's own rules (field errors, values kept), then hands the values to the run. */
export async function submitExternalForm(ctx: ApiContext, req: Request, res: Response, token: string, request: ApprovalRequest, run: Run): Promise<void> {
  const form = formOf(run, request);
  if (!form) return void res.status(409).type('html').send(approvalResultPage({ kind: 'closed' }).html);
  const { values, checked } = checkFormPost(form.schema, form.validatorFor(run.input), (req.body ?? {}) as Record<string, unknown>, form.rows ?? 2);
  if (!checked.ok) return void res.status(422).type('html').send(renderExternalForm(token, request, run, values, checked.errors));
  const submission: FormSubmission = {
    requestId: request.id,
    values: checked.data,
    actorEmail: request.approverEmail,
    ip: req.ip,
    userAgent: req.get('user-agent')?.slice(0, 500),
  };
  const refused = await submitThroughLink(ctx, request, SUBMIT_FORM_UPDATE, submission);
  sendResult(res, refused ?? { kind: 'form_sent', runTitle: form.title, stepTitle: request.stepTitle });
}
