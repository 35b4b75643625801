import type { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from '@opentelemetry/api';

/**
 * The AsyncLocalStorage instances that would otherwise be made once per workflow, made once per V8 context instead:
 * this module is bundled into the workflow sandbox and preloaded there (worker/build-bundle.ts), so every workflow
 * of a worker thread shares it.
 *
 * Why: Node gives every promise created while an AsyncLocalStorage is enabled one property per enabled instance. Per
 * workflow, the OpenTelemetry interceptors' context manager enables one, and the SDK's Activator another (its
 * workflow-random scope, entered at each interceptor `next`), and both stay enabled until the workflow leaves the
 * cache. With the reusable V8 context all cached workflows share one isolate, so each new promise carried two
 * properties per cached run: memory per cached run grew with the number of cached runs (about 70 properties, 6.5 KB,
 * on each promise with 200 runs open), and so did the time to create a promise. Shared, they cost two in all.
 *
 * Sharing is sound because a store lives on the promises of one async chain: a workflow's chains are its own (its
 * activations run one at a time, and `run` restores the previous store when it returns), so no workflow sees another
 * one's context or random scope, as with an instance each.
 *
 * The instances are reached through functions rather than exported as values: the SDK deep-freezes what preloaded
 * modules export, and an AsyncLocalStorage writes its own fields when enabled.
 */
const AsyncLocalStorageInSandbox = (globalThis as unknown as { AsyncLocalStorage: new <T>() => AsyncLocalStorage<T> }).AsyncLocalStorage;
const otelContext = new AsyncLocalStorageInSandbox<Context>();
const workflowRandom = new AsyncLocalStorageInSandbox<unknown>();

/** Where the OpenTelemetry workflow interceptors keep the active span context (./otel-context-manager.ts). */
export function otelContextStorage(): AsyncLocalStorage<Context> {
  return otelContext;
}

/** The SDK's workflow-random scope (Activator.currentRandomStorage), given to each workflow by ./interceptors.ts. */
export function workflowRandomStorage(): AsyncLocalStorage<unknown> {
  return workflowRandom;
}
