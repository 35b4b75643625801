import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, type BundleOptions } from '@temporalio/worker';
import { workflowTracingModules } from '../lib/tracing.js';
import { prebuiltBundlePath, workflowsPath } from './worker.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const compiled = import.meta.url.endsWith('.js');
const sandboxModule = (name: string) => fileURLToPath(new URL(`./sandbox/${name}${compiled ? '.js' : '.ts'}`, import.meta.url));

/**
 * Modules evaluated once per V8 context, before any workflow, and shared by all the workflows of a worker thread
 * (the SDK's `preloadModules`; what they export is frozen): the AsyncLocalStorage instances of sandbox/shared-storage.ts,
 * the pure libraries of sandbox/shared-modules.ts, and the workflows themselves with the processes/ helpers they
 * import (the workflows module and what it imports).
 *
 * Why the workflows: otherwise each workflow the worker caches evaluates them again, allocating every function,
 * class and constant of workflows/ and processes/ once per cached run. `npm run bench -- --only rss` (RSS added per
 * run opened after 30): 0.62 MB per cached run evaluated per workflow, 0.46 MB preloaded. Sound because workflow
 * code keeps nothing per run at module scope (what a run holds lives in its workflow function's scope; the SDK's own
 * @temporalio/workflow is shared the same way): workflows/patches.ts keeps its per-run memo by the run's Activator.
 * The interceptor modules stay per workflow (the OpenTelemetry libraries keep state of their own).
 */
export const sharedSandboxModules = [sandboxModule('shared-storage'), sandboxModule('shared-modules'), workflowsPath];

/** Workflow interceptor modules: OpenTelemetry's and the SDK flag's (lib/tracing.ts), then sandbox/interceptors.ts (adds none). */
export const bundledInterceptorModules = [...workflowTracingModules, sandboxModule('interceptors')];

/** The interceptors' context manager, which the bundle takes from sandbox/ instead (it uses the shared storage). */
const otelContextManager = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow/context-manager').replace(/\.js$/, '');

/**
 * Webpack as the SDK configures it (development mode), plus the module optimisations of a production build without
 * minifying (unused exports dropped, modules their package marks side-effect free skipped when nothing they export is
 * used, ES modules concatenated into one scope),
 * and the OpenTelemetry interceptors' context manager replaced by sandbox/otel-context-manager.ts.
 *
 * Why the optimisations: with the reusable V8 context (the SDK's default) every module of the bundle outside
 * @temporalio/workflow and the preloaded ones is evaluated again for each workflow the worker holds in its cache, so
 * every function, class, getter and constant of the modules evaluated per workflow (before the workflows were
 * preloaded: the workflows, processes/ helpers and OpenTelemetry libraries) is allocated once per cached run. In
 * development mode webpack keeps one module per file with a getter per export; concatenated, the same code allocates
 * half the heap per run (360 → 182 KB measured with the SDK's workflow creator alone, 162 KB with @noble/hashes
 * preloaded). The code that runs is the same, in the same order, so recorded histories replay (test/replay).
 */
export const workflowWebpackConfigHook: NonNullable<BundleOptions['webpackConfigHook']> = (config) => ({
  ...config,
  // sandbox/tracing.ts loads the OpenTelemetry interceptors with `require` when a traced run first needs them. Compiled
  // to an ES module (dist/, a "type": "module" package), webpack would leave that `require` alone; parsed as
  // javascript/auto it bundles the module behind it, as it does for the TypeScript source.
  module: { ...config.module, rules: [...(config.module?.rules ?? []), { test: /[\\/]worker[\\/]sandbox[\\/]tracing\.js$/, type: 'javascript/auto' }] },
  resolve: { ...config.resolve, alias: { ...(config.resolve?.alias as Record<string, string | false>), [otelContextManager]: sandboxModule('otel-context-manager') } },
  optimization: { ...config.optimization, usedExports: true, sideEffects: 'flag', providedExports: true, innerGraph: true, concatenateModules: true, minimize: false },
});

/**
 * Bundles workflows/ once so workers start without webpack (what `npm run build` and the test setup use), with the
 * OpenTelemetry workflow interceptors (lib/tracing.ts) and the shared sandbox storage (sandbox/) inside.
 */
export async function buildWorkflowBundle(outputPath = prebuiltBundlePath): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: bundledInterceptorModules,
    webpackConfigHook: workflowWebpackConfigHook,
    preloadModules: sharedSandboxModules,
    logger: new DefaultLogger('WARN'),
  });
  await mkdir(dirname(outputPath), { recursive: true });
  // Written aside and renamed: a worker starting meanwhile never loads half a bundle.
  await writeFile(`${outputPath}.${process.pid}.tmp`, code);
  await rename(`${outputPath}.${process.pid}.tmp`, outputPath);
  return outputPath;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/**
 * What the bundle is made of: workflows/ and the pure processes/ helpers they import (lint keeps workflow code to
 * those, @temporalio/workflow and type imports), the workflow interceptors lib/tracing.ts names, the sandbox/
 * modules and how this file configures webpack, and the locked dependency versions.
 */
export async function workflowSourceHash(): Promise<string> {
  const files = [
    ...(await sourceFiles(join(root, 'workflows'))),
    ...(await sourceFiles(join(root, 'processes'))),
    ...(await sourceFiles(join(root, 'worker', 'sandbox'))),
    join(root, 'lib/tracing.ts'),
    join(root, 'worker/build-bundle.ts'),
    join(root, 'package-lock.json'),
  ].sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(file.slice(root.length)).update('\0').update(await readFile(file)).update('\0');
  return hash.digest('hex');
}

/**
 * The bundle of the current sources, built once and kept under `dir` by their hash: a development worker starts
 * without webpack whenever the workflow code has not changed since the last start, and never runs a stale one.
 */
export async function cachedWorkflowBundle(dir = join(root, '.data', 'workflow-bundles')): Promise<string> {
  const path = join(dir, `workflow-bundle-${(await workflowSourceHash()).slice(0, 20)}.js`);
  if (existsSync(path)) return path;
  return buildWorkflowBundle(path);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const path = await buildWorkflowBundle();
  console.log(`Workflow bundle written to ${path}`);
}
