import { readFile } from 'node:fs/promises';
import { TypedSearchAttributes } from '@temporalio/common';
import type { WorkflowInfo } from '@temporalio/workflow';
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

/**
 * What every workflow cached on a worker thread shares (worker/build-bundle.ts, worker/sandbox/): one evaluation of
 * the preloaded modules (the workflows' code among them) and the AsyncLocalStorage instances the SDK and the
 * OpenTelemetry interceptors would otherwise make per workflow (each enabled instance puts a property on every promise
 * the thread creates, so per-run instances made a cached run cost more the more runs were cached). Checked on the
 * test bundle, in the SDK's own reusable-context workflow creator, as the worker runs it.
 */
describe('the workflow sandbox', () => {
  let creator: ReusableVMWorkflowCreator;
  beforeAll(async () => {
    const code = await readFile(inject('workflowBundlePath'), 'utf8');
    creator = await ReusableVMWorkflowCreator.create({ code, filename: 'workflow-bundle.js', sourceMap: { version: 3, sources: [], names: [], mappings: '' } as never }, 5_000, new Set());
  });
  afterAll(async () => creator?.destroy());

  const create = (n: number) => {
    const runId = `run-${n}`;
    const info = {
      workflowId: `wf-${n}`,
      runId,
      workflowType: 'capexWorkflow',
      searchAttributes: {},
      typedSearchAttributes: new TypedSearchAttributes(),
      taskQueue: 'sandbox-test',
      namespace: 'default',
      firstExecutionRunId: runId,
      originalExecutionRunId: runId,
      startTime: new Date(),
      runStartTime: new Date(),
      taskTimeoutMs: 10_000,
      attempt: 1,
      historyLength: 3,
      historySize: 0,
      continueAsNewSuggested: false,
      targetWorkerDeploymentVersionChanged: false,
      suggestedContinueAsNewReasons: [],
      currentBuildId: '',
      unsafe: { now: Date.now, isReplaying: false, isReplayingHistoryEvents: false, random: Math.random },
      priority: {},
    } as unknown as WorkflowInfo;
    return creator.createWorkflow({ info, randomnessSeed: [1, 2, 3, 4, 5, 6, 7, 8], now: Date.now(), showStackTraceSources: false });
  };
  const activatorOf = (workflow: unknown) =>
    (workflow as { activator: { currentRandomStorage?: object; workflow?: unknown; moduleCache: Map<string, unknown> } }).activator;

  it('evaluates the workflows and the processes/ helpers they import once, for every workflow of the thread', async () => {
    const [a, b] = [await create(1), await create(2)];
    expect(typeof activatorOf(a).workflow).toBe('function');
    expect(activatorOf(b).workflow).toBe(activatorOf(a).workflow);
    // Per workflow are only the interceptor modules (workflows/sdk-flags.ts among them); the workflows' module, and
    // the patches module whose per-run memo they and the interceptors share, are not.
    for (const workflow of [a, b]) {
      const own = [...activatorOf(workflow).moduleCache.keys()];
      expect(own).toContain('./workflows/sdk-flags.ts');
      expect(own.filter((id) => id === './workflows/index.ts' || id === './workflows/patches.ts')).toEqual([]);
    }
    await Promise.all([a, b].map((w) => w.dispose()));
  });

  it("gives every workflow the one workflow-random AsyncLocalStorage instead of one each", async () => {
    const [a, b, c] = [await create(1), await create(2), await create(3)];
    const storage = activatorOf(a).currentRandomStorage;
    expect(storage?.constructor.name).toBe('AsyncLocalStorage');
    expect(activatorOf(b).currentRandomStorage).toBe(storage);
    expect(activatorOf(c).currentRandomStorage).toBe(storage);
    await Promise.all([a, b, c].map((w) => w.dispose()));
  });

  it("keeps the OpenTelemetry interceptors' context in the shared storage, and @noble/hashes evaluated once", async () => {
    const bundle = await readFile(inject('workflowBundlePath'), 'utf8');
    expect(bundle).not.toContain('interceptors-opentelemetry/lib/workflow/context-manager');
    // Its own module, or concatenated into the interceptors' (worker/sandbox/tracing.ts imports them as ES modules).
    expect(bundle).toMatch(/"\.\/worker\/sandbox\/otel-context-manager\.ts"|\/\/ MODULE: \.\/worker\/sandbox\/otel-context-manager\.ts\n/);
    const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(bundle)?.[1] ?? '';
    expect(preload).toContain('"./worker/sandbox/shared-storage.ts"');
    expect(preload).toContain('"./worker/sandbox/shared-modules.ts"');
    expect(preload).toContain('"./workflows/index.ts"');
    // A module of its own (not inlined into the workflows' code), so the preloaded evaluation is the one they use.
    expect(bundle).toMatch(/\n\/\*\*\*\/ "[^"]*node_modules\/@noble\/hashes\/sha2\.js"\n/);
  });
});
