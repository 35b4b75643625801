import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrateDeploy } from '../../dev/migrate.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../dev/postgres.js';
import { resolveTemporalCli } from '../../dev/temporal-cli.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev/temporal-server.js';
import { DEFAULT_RUNTIME_LOGIN, ensureRuntimeLogin } from '../../lib/db-roles.js';
import { buildWorkflowBundle } from '../../worker/build-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    templateDatabase: string;
    /** The restricted login (member of opsflow_runtime) the API and worker of every test stack connect with. */
    runtimeDbLogin: { user: string; password: string };
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

export const TEMPLATE_DATABASE = 'opsflow_template';

/**
 * Once per `npm test`: a real PostgreSQL with a migrated template database (each test file clones it) and the
 * restricted runtime login, a real Temporal dev server (in memory), and the workflow bundle. Nothing needs to be
 * running beforehand.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const scratch = await mkdtemp(join(tmpdir(), 'opsflow-test-'));
  // As root, PostgreSQL runs as a separate system user, which must be able to reach its data directory.
  await chmod(scratch, 0o755);
  let postgres: EmbeddedDatabase | undefined;
  let temporal: TemporalDevServer | undefined;
  const teardown = async () => {
    await temporal?.stop();
    await postgres?.stop();
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    const [pg, cli, bundlePath] = await Promise.all([
      startEmbeddedPostgres({ dataDir: join(scratch, 'postgres'), persistent: false }),
      resolveTemporalCli((line) => console.log(line)),
      buildWorkflowBundle(join(scratch, 'workflow-bundle.js')),
    ]);
    postgres = pg;
    if (!cli) throw new Error('No Temporal CLI found and Go is not installed: run `npm run temporal:install` or set TEMPORAL_CLI_PATH');
    temporal = await startTemporalDevServer({ cli, headless: true });
    const templateUrl = await pg.createDatabase(TEMPLATE_DATABASE);
    await migrateDeploy(templateUrl);
    // Roles are cluster-wide and the grants live in the template, so one login serves every cloned database.
    const runtimeDbLogin = { user: DEFAULT_RUNTIME_LOGIN, password: randomBytes(24).toString('base64url') };
    await ensureRuntimeLogin(templateUrl, runtimeDbLogin);

    project.provide('pgServerUrl', pg.serverUrl);
    project.provide('templateDatabase', TEMPLATE_DATABASE);
    project.provide('runtimeDbLogin', runtimeDbLogin);
    project.provide('temporalAddress', temporal.address);
    project.provide('workflowBundlePath', bundlePath);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
