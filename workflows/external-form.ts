import { ApplicationFailure, condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { SUBMIT_FORM_UPDATE, type FormSubmission } from '../processes/approval-messages.js';
import { durationMs } from '../processes/duration.js';
import { FailureType } from '../processes/failures.js';

export const submitFormUpdate = defineUpdate<{ requestId: string }, [FormSubmission]>(SUBMIT_FORM_UPDATE);

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Sends an outside party a form link and waits for their values; one open form at a time per run. */
export class FormDesk {
  private open?: { requestId: string; formKey: string };
  private submitted?: FormSubmission;
  private round = 0;

  constructor(private readonly runId: string) {
    setHandler(
      submitFormUpdate,
      async (submission) => {
        const open = this.open!;
        await acts.recordFormSubmission({ ...submission, runId: this.runId, formKey: open.formKey });
        this.submitted = submission;
        this.open = undefined;
        return { requestId: submission.requestId };
      },
      {
        validator: (submission) => {
          if (this.open?.requestId !== submission.requestId) throw ApplicationFailure.nonRetryable('This form is no longer open', FailureType.formClosed);
        },
      },
    );
  }

  /** The submitted values, or undefined when the link expired unused. */
  async request(form: { formKey: string; title: string; recipient: { name: string; email: string }; timeout: string; message: string[] }): Promise<Record<string, unknown> | undefined> {
    this.round += 1;
    const requestId = `${this.runId}:form:${form.formKey}:${this.round}`;
    const expiresAt = Date.now() + durationMs(form.timeout);
    this.open = { requestId, formKey: form.formKey };
    this.submitted = undefined;
    await acts.openFormRequest({ requestId, runId: this.runId, formKey: form.formKey, title: form.title, recipient: form.recipient, expiresAt, message: form.message });
    if (await condition(() => this.submitted !== undefined, Math.max(1, expiresAt - Date.now()))) return this.submitted!.values;
    this.open = undefined;
    await acts.revokeFormRequest({ requestId, reason: 'the link expired' });
    return undefined;
  }
}
