import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config.js';
import type { Db } from '../lib/db.js';
import type { EgressPolicy } from '../lib/egress.js';
import type { Logger } from '../lib/logger.js';
import type { ApiMetrics } from '../lib/metrics.js';
import type { FailedKeyCheckLimiter } from './auth-failures.js';
import type { InboundEmail } from './inbound-email.js';
import type { InFlightLimiter } from './load-shedding.js';
import type { ApiKeyCache } from '../lib/api-keys.js';
import type { SlackContext } from './routes/slack.js';

/** What route handlers need; built once by server.ts (or a test) and passed to createApp. */
export interface ApiContext {
  db: Db;
  temporal: Client;
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'PUBLIC_BASE_URL' | 'API_BODY_LIMIT' | 'OPSFLOW_ALLOW_SHORT_DURATIONS'> &
    Partial<Pick<Config, 'EVENT_SOURCE_SECRETS' | 'EVENT_HOLD_WINDOW' | 'WEBHOOK_ALLOWED_HOSTS' | 'TRUST_PROXY' | 'RUN_START_CONCURRENCY' | 'RUN_START_QUEUE' | 'RUN_START_QUEUE_WAIT_MS' | 'API_KEY_CACHE_MS' | 'SLACK_BOT_TOKEN' | 'SLACK_SIGNING_SECRET' | 'SLACK_API_URL'>>;
  logger: Logger;
  /** How long a decision waits for the run to confirm it before answering "sent, not yet confirmed". */
  decisionWaitMs?: number;
  /** Created by createApp when absent. */
  metrics?: ApiMetrics;
  /** Where webhooks may be sent; createApp builds it from WEBHOOK_ALLOWED_HOSTS when absent. */
  egress?: EgressPolicy;
  /** Check every JSON answer against the route table's schema for its status (default: under NODE_ENV=test). */
  validateResponses?: boolean;
  /** Failed key checks per client and key id; createApp makes one per app when absent. */
  authFailures?: FailedKeyCheckLimiter;
  /** Verified API keys (API_KEY_CACHE_MS); createApp makes one per app when absent. */
  apiKeys?: ApiKeyCache;
  /** Run starts in flight (RUN_START_*): a burst beyond it is answered 503 + Retry-After. createApp makes one when absent. */
  runStarts?: InFlightLimiter;
  /** Slack's client and signing secret; createApp builds them from the SLACK_* settings when absent (none: Slack is off). */
  slack?: SlackContext;
  /** Reply by e-mail (INBOUND_EMAIL_DOMAIN set): POST /inbound/email and the SMTP listener decide through it. */
  inboundEmail?: InboundEmail;
}
