import type { SearchAttributePair } from '@temporalio/common';
import type { Prisma } from './db.js';
import type { ProcessDefinition } from '../processes/types.js';
import { searchAttributes } from '../processes/search-attributes.js';

export type RunOrigin = { trigger: 'api' | 'event' | 'schedule'; correlationKey?: string; scheduleId?: string };

/** The Run row every process run has, whatever started it. */
export function runRow(
  process: ProcessDefinition,
  runId: string,
  input: unknown,
  settings: unknown,
  origin: RunOrigin,
) {
  const summary = process.summarize(input);
  return {
    id: runId,
    process: process.key,
    status: 'running',
    title: summary.title,
    requesterName: summary.requester.name,
    requesterEmail: summary.requester.email.toLowerCase(),
    input: input as Prisma.InputJsonValue,
    settings: settings as Prisma.InputJsonValue,
    amount: summary.amount ?? null,
    currency: summary.currency ?? null,
    trigger: origin.trigger,
    correlationKey: origin.correlationKey ?? null,
    scheduleId: origin.scheduleId ?? null,
  };
}

/** What Temporal can search runs by, from the same summary the Run row uses. */
export function runSearchAttributes(process: ProcessDefinition, input: unknown): SearchAttributePair[] {
  const summary = process.summarize(input);
  const pairs: SearchAttributePair[] = [
    { key: searchAttributes.process, value: process.key },
    { key: searchAttributes.status, value: 'running' },
    { key: searchAttributes.requester, value: summary.requester.email.toLowerCase() },
  ];
  if (summary.amount !== undefined) pairs.push({ key: searchAttributes.amount, value: summary.amount });
  if (summary.currency) pairs.push({ key: searchAttributes.currency, value: summary.currency });
  if (summary.costCenter) pairs.push({ key: searchAttributes.costCenter, value: summary.costCenter });
  return pairs;
}

