import type { Prisma } from './db.js';
import { diffFacts, type Fact, type FactChange } from '../processes/facts.js';

/**
 * What approvers of a run saw, as recorded: the facts of each version (RunFactsVersion) and the snapshot each
 * decision keeps. Used to show what changed since a page was rendered or since a step was approved.
 */

/** The facts shown under a version of the run; undefined for a version the run never had. */
export async function factsAtVersion(db: Prisma.TransactionClient, runId: string, version: string): Promise<Fact[] | undefined> {
  const row = await db.runFactsVersion.findUnique({ where: { runId_version: { runId, version } } });
  return row ? (row.facts as unknown as Fact[]) : undefined;
}

/**
 * When a step is asked again after an edit: what changed since the step was last approved, old value → new value
 * (empty when it was never approved, or nothing it was shown changed).
 */
export async function changesSinceStepApproval(db: Prisma.TransactionClient, runId: string, stepId: string, current: Fact[]): Promise<FactChange[]> {
  const approved = await db.approvalRequest.findFirst({
    where: { runId, stepId, kind: 'decision', decision: 'approved', decidedVersion: { not: null } },
    orderBy: { usedAt: 'desc' },
  });
  return approved?.factsSnapshot ? diffFacts(approved.factsSnapshot as unknown as Fact[], current) : [];
}

/** The input behind each of these versions of the run, for those the run recorded. */
export async function inputsAtVersions(db: Prisma.TransactionClient, runId: string, versions: string[]): Promise<Map<string, unknown>> {
  if (versions.length === 0) return new Map();
  const rows = await db.runFactsVersion.findMany({ where: { runId, version: { in: versions } }, select: { version: true, input: true } });
  return new Map(rows.map((row) => [row.version, row.input]));
}
