import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { resolveTemporalCli } from '../../dev/temporal-cli.js';
import { resolveTemporalServer } from '../../dev/temporal-cluster.js';

const run = promisify(execFile);
const deploy = fileURLToPath(new URL('../../deploy/temporal/', import.meta.url));
const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[] }>;
};

/** The highest `vX.Y` folder of a versioned schema: where update-schema must leave the database. */
function latestVersion(dir: string): string {
  const versions = readdirSync(dir).filter((d) => /^v\d+\.\d+$/.test(d)).map((d) => d.slice(1).split('.').map(Number) as [number, number]);
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return versions.at(-1)!.join('.');
}

/**
 * The shell scripts docker-compose.yml's one-shot jobs run (compose-go checks the file, not what the jobs do), run
 * here with the same tools as in the admin-tools image: Temporal's schema tool against the test PostgreSQL, the
 * temporal CLI against the test Temporal server. Each twice, since every `docker compose up` runs them again.
 */
describe('the compose jobs’ scripts', () => {
  const suffix = randomBytes(4).toString('hex');
  const login = { user: `temporal_${suffix}`, password: randomBytes(12).toString('hex') };
  const databases = { persistence: `temporal_${suffix}`, visibility: `temporal_visibility_${suffix}` };
  let tools: { sqlTool: string; moduleDir: string; cliDir: string };
  let admin: pg.Client;

  beforeAll(async () => {
    const [{ sqlTool, moduleDir }, cli] = await Promise.all([resolveTemporalServer(), resolveTemporalCli()]);
    tools = { sqlTool, moduleDir, cliDir: dirname(cli!.path) };
    // What deploy/postgres/init-databases.sh does on the PostgreSQL volume's first start.
    admin = new pg.Client({ connectionString: `${inject('pgServerUrl')}/postgres` });
    await admin.connect();
    await admin.query(`CREATE ROLE ${login.user} LOGIN PASSWORD '${login.password}'`);
    for (const db of Object.values(databases)) await admin.query(`CREATE DATABASE ${db} OWNER ${login.user}`);
  }, 600_000);
  afterAll(async () => {
    if (!admin) return;
    for (const db of Object.values(databases)) await admin.query(`DROP DATABASE IF EXISTS ${db}`);
    await admin.query(`DROP ROLE IF EXISTS ${login.user}`);
    await admin.end();
  });

  it('temporal-schema applies Temporal’s schemas up to the newest version, and a second run changes nothing', async () => {
    const { hostname, port } = new URL(inject('pgServerUrl'));
    const env = {
      ...process.env,
      SQL_HOST: hostname,
      SQL_PORT: port,
      SQL_USER: login.user,
      SQL_PASSWORD: login.password,
      TEMPORAL_SQL_TOOL: tools.sqlTool,
      TEMPORAL_SCHEMA_DIR: join(tools.moduleDir, 'schema/postgresql/v12'),
      TEMPORAL_DB: databases.persistence,
      TEMPORAL_VISIBILITY_DB: databases.visibility,
    };
    for (const round of [1, 2]) {
      const { stdout } = await run('sh', [join(deploy, 'setup-schema.sh')], { env, maxBuffer: 16 * 1024 * 1024 });
      expect(stdout, `round ${round}`).toContain('Temporal schemas are up to date');
    }
    const version = async (db: string) => {
      const client = new pg.Client({ connectionString: `${inject('pgServerUrl')}/${db}` });
      await client.connect();
      try {
        return (await client.query<{ curr_version: string }>('SELECT curr_version FROM schema_version')).rows[0]?.curr_version;
      } finally {
        await client.end();
      }
    };
    expect(await version(databases.persistence)).toBe(latestVersion(join(env.TEMPORAL_SCHEMA_DIR, 'temporal/versioned')));
    expect(await version(databases.visibility)).toBe(latestVersion(join(env.TEMPORAL_SCHEMA_DIR, 'visibility/versioned')));
  });

  it('temporal-namespace creates the namespace with the search attributes compose lists, and a second run changes nothing', async () => {
    const namespace = `opsflow-${suffix}`;
    const attributes = compose.services['temporal-namespace']!.command!;
    const env = { ...process.env, PATH: `${tools.cliDir}:${process.env.PATH}`, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: namespace };
    for (const round of [1, 2]) {
      const { stdout } = await run('sh', [join(deploy, 'register-namespace.sh'), ...attributes], { env, timeout: 120_000 });
      expect(stdout, `round ${round}`).toContain(`namespace ${namespace} is ready`);
      if (round === 2) expect(stdout.match(/search attribute \w+ exists/g)).toHaveLength(attributes.length);
    }
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      for (const attribute of attributes) expect(Object.keys(customAttributes ?? {}), attribute).toContain(attribute.split('=')[0]);
    } finally {
      await connection.close();
    }
  });
});
