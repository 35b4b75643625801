import { createApprovalActivities } from './approvals.js';
import type { ActivityDeps } from './deps.js';
import { createFormActivities } from './forms.js';
import { createHiringActivities } from './hiring.js';
import { createInboxActivities } from './inbox.js';
import { createIncidentActivities } from './incidents.js';
import { createSupplierActivities } from './suppliers.js';
import { createNotificationActivities } from './notifications.js';
import { createPurchasingActivities } from './purchasing.js';
import { createRecordActivities } from './records.js';
import { createRevisionActivities } from './revisions.js';
import { createTaskActivities } from './tasks.js';
import { createWebhookActivities } from './webhooks.js';

/** Every activity the worker registers, bound to its dependencies. Workflows import only the type. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createRecordActivities(deps),
    ...createApprovalActivities(deps),
    ...createNotificationActivities(deps),
    ...createPurchasingActivities(deps),
    ...createRevisionActivities(deps),
    ...createWebhookActivities(deps),
    ...createHiringActivities(deps),
    ...createFormActivities(deps),
    ...createSupplierActivities(deps),
    ...createInboxActivities(deps),
    ...createTaskActivities(deps),
    ...createIncidentActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps.js';
