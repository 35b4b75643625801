import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { workflowTracingSinks } from '../../lib/tracing.js';

/**
 * Replay safety: workflow histories recorded from real runs, replayed against the current workflow bundle. A
 * change that would break a run in flight (an added, removed or reordered command without `patched()`) fails the
 * replay with a determinism error, long before an approver clicks on a run that is days old.
 */

export interface RecordedHistory {
  workflowId: string;
  workflowType: string;
  /** How the execution stood when it was recorded: RUNNING, COMPLETED, CONTINUED_AS_NEW, … */
  status: string;
  history: History;
}

/** Every execution (each continue-as-new run too) a stack's task queue has seen, with its history so far. */
export async function historiesOf(client: Client, taskQueue: string): Promise<RecordedHistory[]> {
  const recorded: RecordedHistory[] = [];
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    recorded.push({ workflowId: execution.workflowId, workflowType: execution.type, status: execution.status.name, history });
  }
  return recorded;
}

/** The histories the current bundle cannot replay, each with Temporal's reason; empty when all replay. */
export async function replayFailures(bundlePath: string, histories: RecordedHistory[]): Promise<string[]> {
  if (histories.length === 0) return [];
  const failures: string[] = [];
  const results = Worker.runReplayHistories(
    // The bundle carries the tracing interceptors; their sink is registered (replay calls it for nothing).
    { workflowBundle: { codePath: bundlePath }, replayName: 'opsflow-replay', sinks: workflowTracingSinks() },
    histories.map((h) => ({ workflowId: h.workflowId, history: h.history })),
  );
  for await (const result of results) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
  }
  return failures;
}

export const goldenHistoriesDir = new URL('../replay/histories/', import.meta.url).pathname;

/**
 * Golden histories are kept by generation: each capture writes into a folder of its own (`histories/<generation>/`,
 * by default the capture's date), so re-recording today's paths never deletes the histories that older code wrote,
 * which are what proves each `patched()` keeps runs in flight on their old path. Files directly under `histories/`
 * are the first generation.
 */
export function captureGeneration(): string {
  return process.env.HISTORIES_GENERATION ?? new Date().toISOString().slice(0, 10);
}

/** The golden histories committed under test/replay/histories, every generation (one JSON file per execution). */
export async function goldenHistories(dir = goldenHistoriesDir): Promise<Array<RecordedHistory & { file: string }>> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const files = entries.filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const saved = JSON.parse(await readFile(join(dir, file), 'utf8')) as Omit<RecordedHistory, 'history'> & { history: unknown };
      return { ...saved, file, history: historyFromJSON(saved.history) };
    }),
  );
}

/**
 * Writes up to `perType` executions of each workflow type as golden histories of the current generation, finished
 * ones first, named after the scenario they came from. Used by `npm run histories:capture`; re-capturing is a
 * deliberate, noted step.
 */
export async function saveGoldenHistories(scenario: string, histories: RecordedHistory[], perType = 8, dir = join(goldenHistoriesDir, captureGeneration())): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  // Runs that ended by themselves first (their whole path), then open ones; runs a test terminated are mostly stubs.
  const rank = (status: string) => (status === 'TERMINATED' ? 2 : status === 'RUNNING' ? 1 : 0);
  const byType = new Map<string, RecordedHistory[]>();
  for (const h of [...histories].sort((a, b) => rank(a.status) - rank(b.status))) byType.set(h.workflowType, [...(byType.get(h.workflowType) ?? []), h]);
  for (const [type, list] of byType) {
    for (const [i, h] of list.slice(0, perType).entries()) {
      const file = `${scenario}--${type}-${i + 1}.json`;
      const json = { workflowId: h.workflowId, workflowType: h.workflowType, status: h.status, history: JSON.parse(historyToJSON(h.history)) };
      await writeFile(join(dir, file), `${JSON.stringify(json)}\n`);
      written.push(file);
    }
  }
  return written;
}
