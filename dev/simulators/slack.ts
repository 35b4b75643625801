import { randomBytes } from 'node:crypto';
import express, { Router, type Response } from 'express';
import { signSlackRequest } from '../../lib/slack-signature.js';
import { demoOrg } from '../demo-org.js';
import type { SimulatorControls } from './faults.js';

/**
 * Slack, as far as Opsflow uses it: the Web API methods `chat.postMessage`, `chat.update`, `chat.postEphemeral`,
 * `views.open` and `users.lookupByEmail` (bearer token, Slack's `{ ok: false, error }` answers, 429 `ratelimited`
 * with Retry-After under an injected fault), a workspace whose users are the demo org except those marked `noSlack`
 * (`U0MORGAN` is Morgan Lee), the messages posted and every update to them, and clicks: a user's button click or
 * modal submission is posted to Opsflow's interactions URL as Slack would, form-encoded and signed with the app's
 * signing secret.
 */
export interface SlackUser {
  id: string;
  name: string;
  email: string;
}

export interface PostedMessage {
  channel: string;
  ts: string;
  /** Who the direct-message channel is with. */
  user: string;
  text: string;
  blocks: Array<Record<string, unknown>>;
  postedAt: string;
  updates: Array<{ text: string; blocks: Array<Record<string, unknown>>; at: string }>;
}

export interface OpenedView {
  id: string;
  user: string;
  triggerId: string;
  view: Record<string, unknown>;
  openedAt: string;
}

export interface InteractionTarget {
  url: string;
  signingSecret: string;
}

/** How a click may be forged, for tests of what Opsflow refuses. */
export interface ClickOptions {
  /** Sign with this secret instead of the app's. */
  signingSecret?: string;
  /** The X-Slack-Request-Timestamp (seconds) to send and sign. */
  timestamp?: number;
  /** Replace the button's value (e.g. an old version). */
  value?: string;
}

export interface InteractionAnswer {
  status: number;
  body: string;
}

/** Trigger ids expire after 3 s in Slack: a modal must be opened while the click is fresh. */
const TRIGGER_TTL_MS = 3_000;
const TEAM = { id: 'T0OPSFLOW', domain: 'opsflow-demo' };

/** `U0` + the first name in capitals: Morgan Lee is U0MORGAN. */
export function demoSlackUserId(email: string): string {
  return `U0${email.split(/[.@]/)[0]!.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
}

export class SlackStore {
  readonly users: SlackUser[] = demoOrg.filter((p) => !p.noSlack).map((p) => ({ id: demoSlackUserId(p.email), name: p.name, email: p.email }));
  readonly messages: PostedMessage[] = [];
  readonly ephemerals: Array<{ channel: string; user: string; text: string; at: string }> = [];
  readonly views: OpenedView[] = [];
  private readonly triggers = new Map<string, { user: string; expiresAt: number }>();
  private target?: InteractionTarget;
  private tsCounter = 0;

  sendInteractionsTo(target: InteractionTarget | undefined): void {
    this.target = target;
  }

  /** Messages in the direct-message channel with this user, oldest first. */
  messagesFor(userId: string): PostedMessage[] {
    return this.messages.filter((m) => m.user === userId);
  }

  userByEmail(email: string): SlackUser | undefined {
    return this.users.find((u) => u.email.toLowerCase() === email.toLowerCase());
  }

  post(channel: string, text: string, blocks: PostedMessage['blocks']): PostedMessage | 'channel_not_found' {
    const user = this.users.find((u) => u.id === channel || `D${u.id.slice(1)}` === channel);
    if (!user) return 'channel_not_found';
    const seconds = Math.floor(Date.now() / 1000);
    const message: PostedMessage = { channel: `D${user.id.slice(1)}`, ts: `${seconds}.${String(++this.tsCounter).padStart(6, '0')}`, user: user.id, text, blocks, postedAt: new Date().toISOString(), updates: [] };
    this.messages.push(message);
    return message;
  }

  update(channel: string, ts: string, text: string, blocks: PostedMessage['blocks']): PostedMessage | 'message_not_found' {
    const message = this.messages.find((m) => m.channel === channel && m.ts === ts);
    if (!message) return 'message_not_found';
    message.updates.push({ text: message.text, blocks: message.blocks, at: new Date().toISOString() });
    Object.assign(message, { text, blocks });
    return message;
  }

  openView(triggerId: string, view: Record<string, unknown>): OpenedView | 'invalid_trigger_id' | 'expired_trigger_id' {
    const trigger = this.triggers.get(triggerId);
    if (!trigger) return 'invalid_trigger_id';
    this.triggers.delete(triggerId);
    if (trigger.expiresAt < Date.now()) return 'expired_trigger_id';
    const opened: OpenedView = { id: `V${randomBytes(5).toString('hex').toUpperCase()}`, user: trigger.user, triggerId, view, openedAt: new Date().toISOString() };
    this.views.push(opened);
    return opened;
  }

  /** `userId` clicks the button `actionId` on the message `ts` (as it reads now), and Slack tells Opsflow. */
  async click(userId: string, ts: string, actionId: string, options: ClickOptions = {}): Promise<InteractionAnswer> {
    const message = this.messages.find((m) => m.ts === ts);
    if (!message) throw new Error(`No message ${ts}`);
    const button = buttonsOf(message).find((b) => b.action_id === actionId);
    if (!button) throw new Error(`Message ${ts} has no button ${actionId} now`);
    const triggerId = this.newTrigger(userId);
    return this.deliver(
      {
        type: 'block_actions',
        team: TEAM,
        user: { id: userId, team_id: TEAM.id },
        api_app_id: 'A0OPSFLOW',
        trigger_id: triggerId,
        container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
        channel: { id: message.channel },
        message: { ts: message.ts, text: message.text, blocks: message.blocks },
        actions: [{ type: 'button', action_id: actionId, block_id: 'decision', value: options.value ?? button.value, action_ts: `${Date.now() / 1000}` }],
      },
      options,
    );
  }

  /** `userId` types `reason` into the last modal opened for them and submits it. */
  async submitView(userId: string, reason: string, options: ClickOptions = {}): Promise<InteractionAnswer> {
    const opened = this.views.filter((v) => v.user === userId).at(-1);
    if (!opened) throw new Error(`No modal was opened for ${userId}`);
    return this.deliver(
      {
        type: 'view_submission',
        team: TEAM,
        user: { id: userId, team_id: TEAM.id },
        api_app_id: 'A0OPSFLOW',
        trigger_id: this.newTrigger(userId),
        view: {
          id: opened.id,
          type: 'modal',
          callback_id: opened.view.callback_id,
          private_metadata: opened.view.private_metadata,
          state: { values: { reason: { reason_input: { type: 'plain_text_input', value: reason } } } },
        },
      },
      options,
    );
  }

  private newTrigger(user: string): string {
    const id = `${Date.now()}.${randomBytes(6).toString('hex')}`;
    this.triggers.set(id, { user, expiresAt: Date.now() + TRIGGER_TTL_MS });
    return id;
  }

  /** Form-encoded `payload`, signed over the raw body, as Slack sends interactions. */
  private async deliver(payload: Record<string, unknown>, options: ClickOptions): Promise<InteractionAnswer> {
    const target = this.target;
    if (!target) throw new Error('No interactions URL: call sendInteractionsTo first');
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': signSlackRequest(options.signingSecret ?? target.signingSecret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: await response.text() };
  }
}

function buttonsOf(message: PostedMessage): Array<{ action_id: string; value: string }> {
  return message.blocks.flatMap((block) => (block.type === 'actions' ? (block.elements as Array<{ action_id: string; value: string }>) : []));
}

const ok = (res: Response, body: Record<string, unknown> = {}) => void res.json({ ok: true, ...body });
const fail = (res: Response, error: string) => void res.json({ ok: false, error });
/** Slack's clients send arrays and objects as JSON strings inside a form. */
const jsonField = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
};

/** Slack's Web API (`/api/<method>`, behind the gate) and the simulator's own controls (`/_control/...`). */
export function slackRouter(store: SlackStore, controls: SimulatorControls): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '1mb' });
  const api = Router();
  api.use(form);

  api.post('/users.lookupByEmail', (req, res) => {
    const user = typeof req.body?.email === 'string' ? store.userByEmail(req.body.email) : undefined;
    if (!user) return fail(res, 'users_not_found');
    ok(res, { user: { id: user.id, team_id: TEAM.id, name: user.email.split('@')[0], real_name: user.name, profile: { email: user.email, real_name: user.name } } });
  });

  api.post('/chat.postMessage', (req, res) => {
    const { channel, text } = req.body ?? {};
    const blocks = jsonField(req.body?.blocks);
    if (!channel) return fail(res, 'channel_not_found');
    if (!text && !Array.isArray(blocks)) return fail(res, 'no_text');
    if (blocks !== undefined && !Array.isArray(blocks)) return fail(res, 'invalid_blocks');
    const posted = store.post(String(channel), String(text ?? ''), (blocks as PostedMessage['blocks']) ?? []);
    if (typeof posted === 'string') return fail(res, posted);
    ok(res, { channel: posted.channel, ts: posted.ts, message: { type: 'message', text: posted.text, ts: posted.ts, blocks: posted.blocks } });
  });

  api.post('/chat.update', (req, res) => {
    const { channel, ts, text } = req.body ?? {};
    const blocks = jsonField(req.body?.blocks);
    if (!channel) return fail(res, 'channel_not_found');
    if (blocks !== undefined && !Array.isArray(blocks)) return fail(res, 'invalid_blocks');
    const updated = store.update(String(channel), String(ts ?? ''), String(text ?? ''), (blocks as PostedMessage['blocks']) ?? []);
    if (typeof updated === 'string') return fail(res, updated);
    ok(res, { channel: updated.channel, ts: updated.ts, text: updated.text });
  });

  api.post('/chat.postEphemeral', (req, res) => {
    const { channel, user, text } = req.body ?? {};
    if (!store.users.some((u) => u.id === user)) return fail(res, 'user_not_in_channel');
    store.ephemerals.push({ channel: String(channel), user: String(user), text: String(text ?? ''), at: new Date().toISOString() });
    ok(res, { message_ts: `${Date.now() / 1000}` });
  });

  api.post('/views.open', (req, res) => {
    const view = jsonField(req.body?.view) as Record<string, unknown> | undefined;
    if (!view || view.type !== 'modal') return fail(res, 'invalid_arguments');
    const opened = store.openView(String(req.body?.trigger_id ?? ''), view);
    if (typeof opened === 'string') return fail(res, opened);
    ok(res, { view: { id: opened.id, ...view } });
  });

  api.post('/:method', (_req, res) => fail(res, 'unknown_method'));

  router.use(
    '/api',
    controls.gate('slack', {
      // Slack answers a missing or wrong token with HTTP 200 and an error code, like every other failure.
      unauthorized: (res, hadToken) => fail(res, hadToken ? 'invalid_auth' : 'not_authed'),
      faultBody: (status) => (status === 429 ? { ok: false, error: 'ratelimited' } : { ok: false, error: 'fatal_error' }),
    }),
    api,
  );

  router.get('/_control/messages', (req, res) => {
    const user = typeof req.query.user === 'string' ? req.query.user : undefined;
    res.json({ items: user ? store.messagesFor(user) : store.messages, ephemerals: store.ephemerals, views: store.views });
  });
  router.post('/_control/click', express.json(), async (req, res) => {
    const { user, ts, action } = req.body ?? {};
    if (typeof user !== 'string' || typeof ts !== 'string' || typeof action !== 'string') {
      return void res.status(422).json({ error: { code: 'validation_failed', message: 'A click needs user, ts and action (e.g. opsflow_approve)' } });
    }
    try {
      res.json(await store.click(user, ts, action));
    } catch (error) {
      res.status(409).json({ error: { code: 'conflict', message: (error as Error).message } });
    }
  });
  router.post('/_control/submit', express.json(), async (req, res) => {
    const { user, reason } = req.body ?? {};
    if (typeof user !== 'string' || typeof reason !== 'string') return void res.status(422).json({ error: { code: 'validation_failed', message: 'A submission needs user and reason' } });
    try {
      res.json(await store.submitView(user, reason));
    } catch (error) {
      res.status(409).json({ error: { code: 'conflict', message: (error as Error).message } });
    }
  });
  return router;
}
