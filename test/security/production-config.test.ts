import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../lib/config.js';
import { publishedSecretValues } from '../../lib/published-secrets.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const COMPOSE_TOKEN_SECRET = 'change-me-to-32-or-more-random-characters';
const COMPOSE_ATS_SECRET = 'whsec_ZGV2LWF0cy1zZWNyZXQtY2hhbmdlLW1lLXBsZWFzZQ==';

const strong = () => randomBytes(36).toString('base64url');

/** A production environment whose every secret is fine; each test spoils one. Nothing listens on port 1. */
function productionEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: 'postgresql://opsflow@127.0.0.1:1/opsflow',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    TOKEN_SECRETS: strong(),
    EVENT_SOURCE_SECRETS: `ats=whsec_${randomBytes(32).toString('base64')}`,
    ...Object.fromEntries(['ERP', 'HRIS', 'ATS', 'SCREENING', 'ESIGN', 'IT'].map((system) => [`${system}_API_KEY`, strong()])),
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs an entry point the way Docker does and waits for it to exit (it must refuse before connecting to anything). */
function runUntilExit(entry: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} did not exit within 20 s; it printed:\n${output}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, output });
    });
  });
}

describe('production refuses published and short secrets', () => {
  it('the API refuses to start with the compose default TOKEN_SECRET, naming the variable (and not printing the value)', async () => {
    const { code, output } = await runUntilExit('api/server.ts', productionEnv({ TOKEN_SECRETS: undefined, TOKEN_SECRET: COMPOSE_TOKEN_SECRET }));
    expect(code).toBe(1);
    expect(output).toContain('api failed to start');
    expect(output).toContain('TOKEN_SECRET: is a value published in the Opsflow repository');
    expect(output).not.toContain(COMPOSE_TOKEN_SECRET);
  });

  it('the worker refuses the compose default event secret and a short integration key, naming each', async () => {
    const { code, output } = await runUntilExit('worker/main.ts', productionEnv({ EVENT_SOURCE_SECRETS: `ats=${COMPOSE_ATS_SECRET}`, HRIS_API_KEY: 'short-hris-key' }));
    expect(code).toBe(1);
    expect(output).toContain('worker failed');
    expect(output).toContain('EVENT_SOURCE_SECRETS (source ats): is a value published in the Opsflow repository');
    expect(output).toContain('HRIS_API_KEY: is shorter than 32 bytes');
    expect(output).not.toContain(COMPOSE_ATS_SECRET);
    expect(output).not.toContain('short-hris-key');
  });

  it('checks every key of the ring and the integration keys left at their (published) defaults', () => {
    const env = productionEnv({ TOKEN_SECRETS: `${strong()},${COMPOSE_TOKEN_SECRET}`, ERP_API_KEY: undefined });
    expect(() => loadConfig(env)).toThrow(/TOKEN_SECRETS \(key 2\): is a value published[\s\S]*ERP_API_KEY: is a value published/);
    // The same settings outside production, and good ones in production, load.
    expect(() => loadConfig({ ...env, NODE_ENV: 'development' })).not.toThrow();
    expect(loadConfig(productionEnv({})).NODE_ENV).toBe('production');
  });

  it('docker-compose.yml requires every secret instead of defaulting it', () => {
    const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    const secretName = /SECRET|_API_KEY$/;
    let checked = 0;
    for (const [service, definition] of Object.entries(compose.services)) {
      for (const [name, value] of Object.entries(definition.environment ?? {})) {
        if (!secretName.test(name)) continue;
        checked += 1;
        // Each ${VAR...} in the value must be ${VAR:?message}: no default, no literal secret around it.
        expect(value, `${service} ${name}`).not.toMatch(/\$\{[A-Z_]+:-/);
        expect(value.replace(/\$\{[A-Z_]+:\?[^}]*\}/g, '').replace(/^[a-z0-9-]+=|,[a-z0-9-]+=/g, ''), `${service} ${name}`).toBe('');
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3 * 8 + 7);
  });

  it('knows every secret-looking value written in docker-compose.yml and README.md (so the list cannot go stale)', () => {
    const compose = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const found = new Set<string>();
    for (const [, name, fallback] of compose.matchAll(/\$\{([A-Z_]+):-([^}]*)\}/g)) if (/SECRET|KEY|TOKEN|PASSWORD/.test(name!)) found.add(fallback!);
    for (const text of [compose, readme]) {
      for (const [value] of text.matchAll(/whsec_[A-Za-z0-9+/=]{16,}/g)) found.add(value);
      for (const [value] of text.matchAll(/\bdev-[a-z]+-key\b/g)) found.add(value);
      for (const [value] of text.matchAll(/opk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}/g)) found.add(value);
      for (const [, value] of text.matchAll(/\b(?:TOKEN_SECRETS?|[A-Z_]+_SECRETS?|[A-Z_]+_API_KEY)[=:] ?(?![-?$])([^\s`'",$<{}]{8,})/g)) if (!value!.includes('…')) found.add(value!);
    }
    const unknown = [...found].filter((value) => !publishedSecretValues.has(value));
    expect(unknown, 'add these to lib/published-secrets.ts').toEqual([]);
  });
});
