import type { Transporter } from 'nodemailer';
import type { Db } from '../lib/db.js';
import type { EgressPolicy } from '../lib/egress.js';
import type { Logger } from '../lib/logger.js';
import type { WorkerMetrics } from '../lib/metrics.js';
import type { DeliveryRef } from '../lib/outbound-webhooks.js';
import type { Ats } from './ats.js';
import type { Erp } from './erp.js';
import type { ESignature } from './esign.js';
import type { Hris } from './hris.js';
import type { ItProvisioning } from './it.js';
import type { Screening } from './screening.js';
import type { SlackApi } from '../lib/slack.js';

/** What activities need from the outside world, injected so tests can point them at local servers. */
export interface ActivityDeps {
  db: Db;
  mailer: Transporter;
  erp: Erp;
  hris: Hris;
  ats: Ats;
  screening: Screening;
  esign: ESignature;
  it: ItProvisioning;
  /** Set when Slack is configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET): approval requests are posted there too. */
  slack?: SlackApi;
  logger: Logger;
  metrics?: WorkerMetrics;
  /** Where outbound webhooks may go (WEBHOOK_ALLOWED_HOSTS); absent = public addresses only. */
  egress?: EgressPolicy;
  /** Wakes the workflows that deliver outbound webhooks after an audit entry queued deliveries. */
  wakeWebhookDeliveries(refs: DeliveryRef[]): Promise<void>;
  /** Closes connections (database, SMTP, Temporal client) when the worker stops. */
  close(): Promise<void>;
  settings: {
    publicBaseUrl: string;
    mailFrom: string;
    /** TOKEN_SECRETS: the approval-link key ring, newest first. */
    tokenSecrets: string[];
    /** Whether policies may use durations under production's bounds (OPSFLOW_ALLOW_SHORT_DURATIONS). */
    allowShortDurations: boolean;
    /** INBOUND_EMAIL_DOMAIN: approval mails carry a reply-to-decide address there; unset = no such address. */
    inboundEmailDomain?: string;
  };
}
