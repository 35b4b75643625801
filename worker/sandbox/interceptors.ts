import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { getActivator } from '@temporalio/workflow/lib/global-attributes.js';
import { workflowRandomStorage } from './shared-storage.js';

/**
 * A workflow interceptor module (bundled after the ones lib/tracing.ts names, worker/build-bundle.ts) that adds no
 * interceptor: it hands the workflow's Activator the shared AsyncLocalStorage for its workflow-random scope before
 * the workflow's first activation, so the SDK does not make one per workflow (./shared-storage.ts says why). The
 * Activator makes its own only when it has none (`currentRandomStorage ??= new AsyncLocalStorage()`), and reads and
 * enters it the same way either way, so the workflow's commands and random values are unchanged.
 */
export const interceptors: WorkflowInterceptorsFactory = () => {
  const activator = getActivator() as unknown as { currentRandomStorage?: unknown };
  activator.currentRandomStorage ??= workflowRandomStorage();
  return {};
};
