import type { Request, Response } from 'express';
import { z } from 'zod';
import { fieldIssues } from '../lib/errors.js';
import type { ApprovalRequest, Run } from '../lib/generated/prisma/client.js';
import { SUBMIT_FORM_UPDATE, type FormSubmission } from '../processes/approval-messages.js';
import { findProcess } from '../processes/index.js';
import type { ExternalFormDefinition } from '../processes/types.js';
import { sendResult, submitThroughLink } from './approval-service.js';
import type { ApiContext } from './context.js';
import { fieldsFromSchema, valuesFromForm } from './form-fields.js';
import { approvalResultPage, formatDateTime } from './pages/approval.js';
import { externalFormPage } from './pages/external-form.js';

function formOf(run: Run, request: ApprovalRequest): ExternalFormDefinition | undefined {
  return findProcess(run.process)?.forms?.[request.stepId];
}

const jsonSchema = (form: ExternalFormDefinition) => z.toJSONSchema(form.schema, { io: 'input', unrepresentable: 'any' }) as Parameters<typeof fieldsFromSchema>[0];

export function renderExternalForm(token: string, request: ApprovalRequest, run: Run, values: Record<string, unknown>, errors?: Record<string, string>): string {
  const form = formOf(run, request)!;
  const fields = fieldsFromSchema(jsonSchema(form), values, errors ?? {}, undefined, form.rows ?? 2);
  const shown = new Set(fields.map((f) => f.name));
  return externalFormPage({
    token,
    title: form.title,
    intro: form.intro,
    recipientName: request.approverName,
    expiresAt: formatDateTime(request.expiresAt),
    fields,
    generalErrors: Object.entries(errors ?? {}).filter(([path]) => !shown.has(path)).map(([path, message]) => `${path}: ${message}`),
    hasErrors: !!errors,
  });
}

/** Validates with the process's own rules (field errors, values kept), then hands the values to the run. */
export async function submitExternalForm(ctx: ApiContext, req: Request, res: Response, token: string, request: ApprovalRequest, run: Run): Promise<void> {
  const form = formOf(run, request);
  if (!form) return void res.status(409).type('html').send(approvalResultPage({ kind: 'closed' }).html);
  const values = valuesFromForm(jsonSchema(form), (req.body ?? {}) as Record<string, unknown>, undefined, form.rows ?? 2);
  const parsed = form.validatorFor(run.input).safeParse(values);
  if (!parsed.success) {
    const errors = Object.fromEntries(fieldIssues(parsed.error.issues).map((i) => [i.path, i.message]));
    return void res.status(422).type('html').send(renderExternalForm(token, request, run, values, errors));
  }
  const submission: FormSubmission = {
    requestId: request.id,
    values: JSON.parse(JSON.stringify(parsed.data)) as Record<string, unknown>,
    actorEmail: request.approverEmail,
    ip: req.ip,
    userAgent: req.get('user-agent')?.slice(0, 500),
  };
  const refused = await submitThroughLink(ctx, request, SUBMIT_FORM_UPDATE, submission);
  sendResult(res, refused ?? { kind: 'form_sent', runTitle: form.title, stepTitle: request.stepTitle });
}
