import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema } from '../../lib/config.js';
import { searchAttributeFlags } from '../../processes/search-attributes.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string>;
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const opsflowServices = ['migrate', 'worker', 'api'] as const;
/** Read by dev/db-roles.ts, which the migrate job runs after the migrations; not engine settings. */
const migrateOnly = new Set(['OPSFLOW_DB_RUNTIME_PASSWORD']);
const requiredRuntimePassword = '${OPSFLOW_DB_RUNTIME_PASSWORD:?set OPSFLOW_DB_RUNTIME_PASSWORD}';

describe('docker-compose.yml', () => {
  it('gives the engine only variables lib/config.ts reads, and every required one', () => {
    const known = new Set(Object.keys(configSchema.shape));
    for (const name of opsflowServices) {
      const env = compose.services[name]?.environment ?? {};
      expect(Object.keys(env).filter((key) => !known.has(key) && !(name === 'migrate' && migrateOnly.has(key))), name).toEqual([]);
      expect(configSchema.safeParse(env).success, name).toBe(true);
    }
  });

  it('migrates as the owner, then creates the runtime login the api and worker connect as (password without default)', () => {
    const migrate = compose.services.migrate!;
    expect(migrate.environment?.DATABASE_URL).toBe('postgresql://opsflow:opsflow@postgres:5432/opsflow');
    expect(migrate.environment?.OPSFLOW_DB_RUNTIME_PASSWORD).toBe(requiredRuntimePassword);
    expect((migrate.command as string[]).join(' ')).toMatch(/prisma migrate deploy && node --import tsx dev\/db-roles\.ts/);
    for (const name of ['worker', 'api'] as const) {
      expect(compose.services[name]!.environment?.DATABASE_URL, name).toBe(`postgresql://opsflow_app:${requiredRuntimePassword}@postgres:5432/opsflow`);
    }
  });

  it('uses real images with pinned tags (never untagged or :latest), and registers every search attribute', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image ?? service.build, name).toBeTruthy();
      if (!service.image) continue;
      const tag = /^[^@]+:([^/:@]+)$/.exec(service.image)?.[1];
      expect(tag, `${name}: ${service.image} names no tag`).toBeDefined();
      expect(tag, `${name}: ${service.image}`).not.toBe('latest');
    }
    const temporal = compose.services.temporal!;
    expect(temporal.image).toMatch(/^temporalio\/temporal:/);
    const flags = (temporal.command as string[]).filter((arg) => arg.startsWith('--search-attribute=')).map((arg) => arg.slice(19));
    expect(flags.sort()).toEqual(searchAttributeFlags().sort());
  });
});
