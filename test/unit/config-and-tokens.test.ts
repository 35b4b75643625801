import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { hashToken, looksLikeToken, mintLinkToken, newLinkNonce, tokenKeyRing } from '../../lib/tokens.js';

const secret = 's'.repeat(32);

describe('config', () => {
  it('fails fast naming each missing or malformed variable', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x', TOKEN_SECRET: 'short', API_PORT: 'eighty' })).toThrow(ConfigError);
    try {
      loadConfig({ DATABASE_URL: 'mysql://x', TOKEN_SECRET: 'short', API_PORT: 'eighty' });
    } catch (error) {
      const issues = (error as ConfigError).issues.join('\n');
      expect(issues).toContain('DATABASE_URL');
      expect(issues).toContain('TOKEN_SECRET: must be at least 32 characters');
      expect(issues).toContain('API_PORT');
    }
  });

  it('needs TOKEN_SECRETS (or TOKEN_SECRET as a one-key ring), each key at least 32 characters', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://localhost/opsflow' })).toThrow(/TOKEN_SECRETS: required/);
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://localhost/opsflow', TOKEN_SECRETS: `${secret},short` })).toThrow(/TOKEN_SECRETS: key 2 of 2 must be at least 32 characters/);
    expect(loadConfig({ DATABASE_URL: 'postgresql://localhost/opsflow', TOKEN_SECRET: secret }).TOKEN_SECRETS).toEqual([secret]);
    expect(loadConfig({ DATABASE_URL: 'postgresql://localhost/opsflow', TOKEN_SECRETS: `${secret}, ${'t'.repeat(32)}` }).TOKEN_SECRETS).toEqual([secret, 't'.repeat(32)]);
  });

  it('reads EVENT_HOLD_WINDOW as a bounded duration (a week by default)', () => {
    const base = { DATABASE_URL: 'postgresql://localhost/opsflow', TOKEN_SECRET: secret };
    expect(loadConfig(base).EVENT_HOLD_WINDOW).toBe(7 * 86_400_000);
    expect(loadConfig({ ...base, EVENT_HOLD_WINDOW: '90s' }).EVENT_HOLD_WINDOW).toBe(90_000);
    expect(loadConfig({ ...base, EVENT_HOLD_WINDOW: '90d' }).EVENT_HOLD_WINDOW).toBe(90 * 86_400_000);
    expect(() => loadConfig({ ...base, EVENT_HOLD_WINDOW: '500ms' })).toThrow(/EVENT_HOLD_WINDOW: must be between 1s and 90d/);
    expect(() => loadConfig({ ...base, EVENT_HOLD_WINDOW: '91d' })).toThrow(/EVENT_HOLD_WINDOW: must be between 1s and 90d/);
    expect(() => loadConfig({ ...base, EVENT_HOLD_WINDOW: 'a week' })).toThrow(/EVENT_HOLD_WINDOW: must be a duration such as 90s, 12h or 7d/);
  });

  it('fills defaults around the required variables', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://localhost/opsflow', TOKEN_SECRET: secret });
    expect(config.TEMPORAL_TASK_QUEUE).toBe('opsflow');
    expect(config.API_PORT).toBe(4000);
  });
});

describe('approval tokens', () => {
  const [key, otherKey] = tokenKeyRing([secret, 't'.repeat(32)]) as [ReturnType<typeof tokenKeyRing>[number], ReturnType<typeof tokenKeyRing>[number]];

  it('are 256-bit, stable per key, request and nonce, and different across each', () => {
    const nonce = newLinkNonce();
    const token = mintLinkToken(key, 'capex-1:line-manager:1', nonce);
    expect(looksLikeToken(token)).toBe(true);
    expect(mintLinkToken(key, 'capex-1:line-manager:1', nonce)).toBe(token);
    expect(mintLinkToken(key, 'capex-1:line-manager:2', nonce)).not.toBe(token);
    expect(mintLinkToken(key, 'capex-1:line-manager:1', newLinkNonce())).not.toBe(token);
    expect(mintLinkToken(otherKey, 'capex-1:line-manager:1', nonce)).not.toBe(token);
    expect(key.id).not.toBe(otherKey.id);
  });

  it('are stored only as a SHA-256 hash', () => {
    const token = mintLinkToken(key, 'r', newLinkNonce());
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).not.toContain(token);
    expect(looksLikeToken('short')).toBe(false);
    expect(looksLikeToken(`${token}/../x`)).toBe(false);
  });
});
