import { createMailer } from '../../activities/email.js';
import type { ActivityDeps } from '../../activities/deps.js';
import type { Db } from '../../lib/db.js';
import { createLogger } from '../../lib/logger.js';
import type { Stack } from './stack.js';

/**
 * What an activity needs, on this stack's SMTP sink and the given database, for calling activities directly as a
 * retry would; the systems it does not reach (ERP, HRIS, …) are left out.
 */
export function activityDeps(stack: Stack, db: Db = stack.db): ActivityDeps {
  const mailer = createMailer(stack.config.SMTP_URL);
  return {
    db,
    mailer,
    logger: createLogger('test', 'silent'),
    settings: { publicBaseUrl: stack.apiUrl, mailFrom: 'Opsflow <opsflow@localhost>', tokenSecrets: stack.config.TOKEN_SECRETS, allowShortDurations: true },
    wakeWebhookDeliveries: async () => {},
    close: async () => mailer.close(),
  } as unknown as ActivityDeps;
}
