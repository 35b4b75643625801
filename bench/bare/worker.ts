import { fileURLToPath } from 'node:url';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createBareActivities } from './activities.js';

/**
 * The baseline's worker process: SDK defaults, its own task queue (BARE_TASK_QUEUE), the connection from the same
 * TEMPORAL_* variables Opsflow reads, the simulators' dev ERP key unless ERP_API_KEY says otherwise. Prints "bare worker started" when polling.
 */
const env = process.env as Record<string, string>;
const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: env });
const connection = await NativeConnection.connect(connectionOptions as Parameters<typeof NativeConnection.connect>[0]);
const worker = await Worker.create({
  connection,
  namespace: namespace ?? 'default',
  taskQueue: env.BARE_TASK_QUEUE!,
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
  activities: createBareActivities({ smtpUrl: env.SMTP_URL!, erpBaseUrl: env.ERP_BASE_URL!, erpApiKey: env.ERP_API_KEY ?? 'dev-erp-key', smtpPool: env.BARE_SMTP_POOL === 'true' }),
});
console.log('bare worker started');
await worker.run();
await connection.close();
