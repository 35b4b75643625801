import { ErrorCode, LogLevel, WebClient, type CodedError } from '@slack/web-api';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { SlackMessage } from './slack-messages.js';

/**
 * The Slack Web API calls Opsflow makes, through the official client (`@slack/web-api`), pointed at SLACK_API_URL
 * (the simulator in development and tests). Rate limits are waited out by the client (Retry-After); other
 * failures are retried twice and then thrown, so a caller inside an activity stays within its timeout.
 */
export interface SlackApi {
  /** The Slack user with this e-mail address; undefined when Slack knows nobody by it. */
  lookUpUserByEmail(email: string): Promise<string | undefined>;
  /** Posts to the user's direct-message channel; returns where it landed, for updates. */
  postMessage(userId: string, message: SlackMessage): Promise<{ channel: string; ts: string }>;
  updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void>;
  /** A message only `userId` sees, e.g. why their click decided nothing. */
  postEphemeral(channel: string, userId: string, text: string): Promise<void>;
  openView(triggerId: string, view: Record<string, unknown>): Promise<void>;
}

export interface SlackSettings {
  botToken: string;
  signingSecret: string;
  apiUrl: string;
}

/** The Slack settings when Slack is configured (token and signing secret), else undefined: Slack is off. */
export function slackSettingsOf(config: Pick<Config, 'SLACK_BOT_TOKEN' | 'SLACK_SIGNING_SECRET' | 'SLACK_API_URL'>): SlackSettings | undefined {
  if (!config.SLACK_BOT_TOKEN || !config.SLACK_SIGNING_SECRET) return undefined;
  return { botToken: config.SLACK_BOT_TOKEN, signingSecret: config.SLACK_SIGNING_SECRET, apiUrl: config.SLACK_API_URL };
}

/** Slack's own error code (`users_not_found`, `channel_not_found`, …) of a failed call, if it answered one. */
export function slackErrorCode(error: unknown): string | undefined {
  const coded = error as CodedError & { data?: { error?: string } };
  return coded?.code === ErrorCode.PlatformError ? coded.data?.error : undefined;
}

export function createSlackApi(settings: SlackSettings, logger: Logger): SlackApi {
  const client = new WebClient(settings.botToken, {
    slackApiUrl: settings.apiUrl,
    timeout: 5_000,
    retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2_000 },
    logLevel: LogLevel.ERROR,
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: (...messages: unknown[]) => logger.warn({ source: 'slack' }, messages.join(' ')),
      error: (...messages: unknown[]) => logger.error({ source: 'slack' }, messages.join(' ')),
      setLevel: () => undefined,
      getLevel: () => LogLevel.ERROR,
      setName: () => undefined,
    },
  });
  return {
    async lookUpUserByEmail(email) {
      try {
        const found = await client.users.lookupByEmail({ email });
        return found.user?.id;
      } catch (error) {
        if (slackErrorCode(error) === 'users_not_found') return undefined;
        throw error;
      }
    },
    async postMessage(userId, message) {
      const posted = await client.chat.postMessage({ channel: userId, text: message.text, blocks: message.blocks as never });
      if (!posted.channel || !posted.ts) throw new Error('chat.postMessage answered without channel and ts');
      return { channel: posted.channel, ts: posted.ts };
    },
    async updateMessage(channel, ts, message) {
      await client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never });
    },
    async postEphemeral(channel, userId, text) {
      await client.chat.postEphemeral({ channel, user: userId, text });
    },
    async openView(triggerId, view) {
      await client.views.open({ trigger_id: triggerId, view: view as never });
    },
  };
}
