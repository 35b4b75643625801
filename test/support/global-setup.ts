import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrateDeploy } from '../../dev/migrate.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../dev/postgres.js';
import { resolveTemporalCli } from '../../dev/temporal-cli.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev/temporal-server.js';
import { buildWorkflowBundle } from '../../worker/build-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    templateDatabase: string;
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

export const TEMPLATE_DATABASE = 'opsflow_template';

/**
 * Once per `npm test`: a real PostgreSQL with a migrated template database (each test file clones it), a real
 * Temporal dev server (in memory), and the workflow bundle. Nothing needs to be running beforehand.
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
    await migrateDeploy(await pg.createDatabase(TEMPLATE_DATABASE));

    project.provide('pgServerUrl', pg.serverUrl);
    project.provide('templateDatabase', TEMPLATE_DATABASE);
    project.provide('temporalAddress', temporal.address);
    project.provide('workflowBundlePath', bundlePath);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
