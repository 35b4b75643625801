import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowTracingModules } from '../lib/tracing.js';
import { prebuiltBundlePath, workflowsPath } from './worker.js';

/**
 * Bundles workflows/ once so workers start without webpack (what `npm run build` and the test setup use), with the
 * OpenTelemetry workflow interceptors (lib/tracing.ts) inside.
 */
export async function buildWorkflowBundle(outputPath = prebuiltBundlePath): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: workflowTracingModules, logger: new DefaultLogger('WARN') });
  await mkdir(dirname(outputPath), { recursive: true });
  await writeFile(outputPath, code);
  return outputPath;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const path = await buildWorkflowBundle();
  console.log(`Workflow bundle written to ${path}`);
}
