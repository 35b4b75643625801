import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SLACK_TOLERANCE_SECONDS, signSlackRequest, SlackVerificationError, verifySlackRequest } from '../../lib/slack-signature.js';
import { buttonValue, escapeMrkdwn, parseButtonValue } from '../../lib/slack-messages.js';

const secret = '8f742231b10e8888abcd99yyyzzz85a5';
const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U0MORGAN' }, note: 'ünïcødé ✓' }))}`;
const now = 1_764_633_600;

/** Slack's recipe written out on its own: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`. */
const slackRecipe = (timestamp: number, raw: string) => `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${raw}`).digest('hex')}`;

function reasonOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(SlackVerificationError);
    return (error as SlackVerificationError).reason;
  }
}

describe('Slack request signatures', () => {
  it('signs by Slack recipe and accepts its own signature within the window', () => {
    expect(signSlackRequest(secret, now, body)).toBe(slackRecipe(now, body));
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: String(now), signature: slackRecipe(now, body) }, body, now))).toBeUndefined();
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: String(now - SLACK_TOLERANCE_SECONDS), signature: slackRecipe(now - SLACK_TOLERANCE_SECONDS, body) }, body, now))).toBeUndefined();
  });

  it('refuses a timestamp more than five minutes away, however well signed', () => {
    const old = now - SLACK_TOLERANCE_SECONDS - 1;
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: String(old), signature: slackRecipe(old, body) }, body, now))).toBe('stale_timestamp');
    const future = now + SLACK_TOLERANCE_SECONDS + 1;
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: String(future), signature: slackRecipe(future, body) }, body, now))).toBe('stale_timestamp');
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: '1e9', signature: slackRecipe(now, body) }, body, now))).toBe('stale_timestamp');
  });

  it('refuses another secret, a changed body, a signature for another timestamp, and missing headers', () => {
    const otherSecret = `v0=${createHmac('sha256', 'another-secret').update(`v0:${now}:${body}`).digest('hex')}`;
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: String(now), signature: otherSecret }, body, now))).toBe('bad_signature');
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: String(now), signature: slackRecipe(now, body) }, `${body}&x=1`, now))).toBe('bad_signature');
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: String(now), signature: slackRecipe(now - 1, body) }, body, now))).toBe('bad_signature');
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: String(now), signature: 'v0=abc' }, body, now))).toBe('bad_signature');
    expect(reasonOf(() => verifySlackRequest(secret, { timestamp: String(now) }, body, now))).toBe('missing_headers');
    expect(reasonOf(() => verifySlackRequest(secret, { signature: slackRecipe(now, body) }, body, now))).toBe('missing_headers');
  });
});

describe('Slack message values', () => {
  it('carries request id and version in a button and refuses anything else', () => {
    const version = 'a'.repeat(64);
    expect(parseButtonValue(buttonValue('capex-1:line-manager:a1:s0:r1', version))).toEqual({ requestId: 'capex-1:line-manager:a1:s0:r1', version });
    expect(parseButtonValue('capex-1|short')).toBeUndefined();
    expect(parseButtonValue(42)).toBeUndefined();
  });

  it('escapes what a requester typed so it cannot become a Slack link or mention', () => {
    expect(escapeMrkdwn('<!channel> & <https://evil|click>')).toBe('&lt;!channel&gt; &amp; &lt;https://evil|click&gt;');
  });
});
