import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowTracingModules } from '../lib/tracing.js';
import { prebuiltBundlePath, workflowsPath } from './worker.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Bundles workflows/ once so workers start without webpack (what `npm run build` and the test setup use), with the
 * OpenTelemetry workflow interceptors (lib/tracing.ts) inside.
 */
export async function buildWorkflowBundle(outputPath = prebuiltBundlePath): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: workflowTracingModules, logger: new DefaultLogger('WARN') });
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
 * those, @temporalio/workflow and type imports), the workflow interceptors lib/tracing.ts names, and the locked
 * dependency versions.
 */
export async function workflowSourceHash(): Promise<string> {
  const files = [...(await sourceFiles(join(root, 'workflows'))), ...(await sourceFiles(join(root, 'processes'))), join(root, 'lib/tracing.ts'), join(root, 'package-lock.json')].sort();
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
