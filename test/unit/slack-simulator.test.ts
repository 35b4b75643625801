import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackSimulatorSettings, startSimulators, type Simulators } from '../../dev/simulators/server.js';
import { createLogger } from '../../lib/logger.js';
import { createSlackApi, slackErrorCode, slackSettingsOf } from '../../lib/slack.js';
import { verifySlackRequest } from '../../lib/slack-signature.js';
import { SLACK_ACTIONS, approvalRequestMessage } from '../../lib/slack-messages.js';

/** The simulated workspace through the real client (@slack/web-api), as the worker and the API use it. */
let sims: Simulators;
const signingSecret = 'simulated-workspace-signing-secret';
const logger = createLogger('test', 'silent');
const api = (token?: string) => {
  const settings = slackSettingsOf({ SLACK_API_URL: 'unused', ...slackSimulatorSettings(sims.url, signingSecret, token) })!;
  return createSlackApi(settings, logger);
};
const message = approvalRequestMessage({
  requestId: 'capex-1:line-manager:a1:s0:r1',
  processTitle: 'Capital expenditure',
  runTitle: 'Five-axis <CNC> machine',
  stepTitle: 'Line manager',
  requesterName: 'Alex Rivera',
  facts: [{ label: 'Amount', value: '250,000.00 EUR' }],
  version: 'b'.repeat(64),
  expiresAt: new Date('2026-12-03T10:00:00Z'),
});

beforeAll(async () => {
  sims = await startSimulators({ port: 0, latencyMs: [0, 0] });
});
afterAll(async () => {
  await sims.close();
});

describe('the Slack simulator', () => {
  it('looks people up by e-mail, posts to their direct messages and records every update', async () => {
    const slack = api();
    expect(await slack.lookUpUserByEmail('morgan.lee@example.com')).toBe('U0MORGAN');
    expect(await slack.lookUpUserByEmail('nobody@example.com')).toBeUndefined();
    const posted = await slack.postMessage('U0MORGAN', message);
    expect(posted.channel).toBe('D0MORGAN');
    await slack.updateMessage(posted.channel, posted.ts, { text: 'done', blocks: [] });
    const [recorded] = sims.slack.messagesFor('U0MORGAN');
    expect(recorded).toMatchObject({ ts: posted.ts, text: 'done', updates: [{ text: message.text }] });
    expect(JSON.stringify(recorded!.updates[0]!.blocks)).toContain('Five-axis &lt;CNC&gt; machine');
    await expect(slack.updateMessage(posted.channel, '1.000000', message)).rejects.toSatisfy((e) => slackErrorCode(e) === 'message_not_found');
    await expect(slack.postMessage('U0NOBODY', message)).rejects.toSatisfy((e) => slackErrorCode(e) === 'channel_not_found');
  });

  it("refuses a wrong bot token the way Slack does (HTTP 200, ok: false, invalid_auth)", async () => {
    await expect(api('xoxb-wrong').lookUpUserByEmail('morgan.lee@example.com')).rejects.toSatisfy((e) => slackErrorCode(e) === 'invalid_auth');
  });

  it('answers 429 ratelimited with Retry-After under an injected fault, which the client waits out', async () => {
    sims.injectFault({ system: 'slack', route: 'POST /users.lookupByEmail', fail: 1, status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    expect(await api().lookUpUserByEmail('priya.shah@example.com')).toBe('U0PRIYA');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const calls = sims.requestLog('slack').filter((r) => r.path === '/users.lookupByEmail').slice(-2);
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
  });

  it("clicks as a user: a signed block_actions payload with the button's value, posted to the interactions URL", async () => {
    const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      sims.slack.sendInteractionsTo({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, signingSecret });
      const posted = await api().postMessage('U0SAM', message);
      expect((await sims.slack.click('U0SAM', posted.ts, SLACK_ACTIONS.approve)).status).toBe(200);
      const [click] = received;
      expect(click!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      verifySlackRequest(signingSecret, { timestamp: String(click!.headers['x-slack-request-timestamp']), signature: String(click!.headers['x-slack-signature']) }, click!.body);
      const payload = JSON.parse(new URLSearchParams(click!.body).get('payload')!);
      expect(payload).toMatchObject({ type: 'block_actions', user: { id: 'U0SAM' }, container: { message_ts: posted.ts }, actions: [{ action_id: SLACK_ACTIONS.approve, value: `capex-1:line-manager:a1:s0:r1|${'b'.repeat(64)}` }] });
    } finally {
      sims.slack.sendInteractionsTo(undefined);
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
