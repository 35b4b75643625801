import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { hashToken, looksLikeToken, mintApprovalToken } from '../../lib/tokens.js';

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

  it('fills defaults around the required variables', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://localhost/opsflow', TOKEN_SECRET: secret });
    expect(config.TEMPORAL_TASK_QUEUE).toBe('opsflow');
    expect(config.API_PORT).toBe(4000);
  });
});

describe('approval tokens', () => {
  it('are 256-bit, stable per request and secret, and different across both', () => {
    const token = mintApprovalToken(secret, 'capex-1:line-manager:1');
    expect(looksLikeToken(token)).toBe(true);
    expect(mintApprovalToken(secret, 'capex-1:line-manager:1')).toBe(token);
    expect(mintApprovalToken(secret, 'capex-1:line-manager:2')).not.toBe(token);
    expect(mintApprovalToken('t'.repeat(32), 'capex-1:line-manager:1')).not.toBe(token);
  });

  it('are stored only as a SHA-256 hash', () => {
    const token = mintApprovalToken(secret, 'r');
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).not.toContain(token);
    expect(looksLikeToken('short')).toBe(false);
    expect(looksLikeToken(`${token}/../x`)).toBe(false);
  });
});
