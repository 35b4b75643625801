import type { Request } from 'express';
import { z } from 'zod';
import { hasScope } from '../../lib/api-keys.js';
import { ChainVerifier, type ChainVerification } from '../../lib/audit-chain.js';
import { AppError } from '../../lib/errors.js';
import type { AuditEntry } from '../../lib/generated/prisma/client.js';
import type { Db } from '../../lib/db.js';
import { requireIdentity } from '../auth.js';
import type { ApiContext } from '../context.js';
import { defineRoute } from '../route-table.js';

export const auditExportQuerySchema = z
  .object({
    from: z.coerce.date({ error: 'must be an ISO date or date-time' }).optional(),
    to: z.coerce.date({ error: 'must be an ISO date or date-time' }).optional(),
    runId: z.string().min(1).optional(),
    format: z.enum(['jsonl', 'csv']).default('jsonl'),
  })
  .refine((q) => !q.from || !q.to || q.from < q.to, { path: ['from'], message: 'must be before to' });

export const auditVerifyQuerySchema = z.object({
  chain: z.string().min(1, 'required').describe('"org" for entries about no run (directory, delegations), else a run id'),
});

const BATCH = 500;

export function auditView(e: AuditEntry) {
  return {
    id: String(e.id),
    at: e.at.toISOString(),
    runId: e.runId,
    action: e.action,
    actor: e.actor,
    onBehalfOf: e.onBehalfOf,
    step: e.step,
    ip: e.ip,
    userAgent: e.userAgent,
    details: e.details,
    // The entry's place in its hash chain, so an export can be checked (and its head kept) outside Opsflow.
    chain: e.chain,
    seq: e.seq,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

/** RFC 4180 field, with spreadsheet formulas defused: a leading = + - @ tab or CR gets a quote so it stays text. */
export function csvField(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// The chain columns come last so readers that take the first ten columns by position keep working.
const csvColumns = ['id', 'at', 'run_id', 'action', 'actor', 'on_behalf_of', 'step', 'ip', 'user_agent', 'details', 'chain', 'seq', 'prev_hash', 'hash'];
const csvRow = (e: ReturnType<typeof auditView>) =>
  [e.id, e.at, e.runId, e.action, e.actor, e.onBehalfOf, e.step, e.ip, e.userAgent, e.details, e.chain, e.seq, e.prevHash, e.hash].map(csvField).join(',');

/** Recomputes one chain in seq order, a page at a time (the org chain grows without bound). */
async function verifyStoredChain(db: Db, chain: string): Promise<ChainVerification> {
  const verifier = new ChainVerifier();
  for (let afterSeq = 0; ; ) {
    const page = await db.auditEntry.findMany({ where: { chain, seq: { gt: afterSeq } }, orderBy: { seq: 'asc' }, take: BATCH });
    for (const entry of page) verifier.add(entry);
    if (page.length < BATCH) break;
    afterSeq = page.at(-1)!.seq;
  }
  return verifier.result();
}

function assertCanRead(req: Request): void {
  const identity = requireIdentity(req);
  if (!hasScope(identity, 'runs:read') && !hasScope(identity, 'audit:read')) {
    throw new AppError('forbidden', 'Reading the audit log needs "runs:read" or "audit:read"', { requiredScope: 'audit:read' });
  }
}

export const auditEntrySchema = z
  .object({
    id: z.string(),
    at: z.iso.datetime(),
    runId: z.string().nullable(),
    action: z.string(),
    actor: z.string(),
    onBehalfOf: z.string().nullable(),
    step: z.string().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    details: z.unknown(),
    chain: z.string(),
    seq: z.number().int(),
    prevHash: z.string().nullable(),
    hash: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });

const chainVerificationSchema = z.object({
  ok: z.boolean(),
  entries: z.number().int().describe('Every entry of the chain, legacy ones included'),
  legacy: z.number().int().describe('Entries written before chaining began: numbered but not hashed'),
  head: z.object({ seq: z.number().int(), hash: z.string() }).nullable().describe('The last chained entry: keep its hash elsewhere to anchor the chain'),
  firstBroken: z
    .object({ id: z.string(), seq: z.number().int(), action: z.string(), at: z.string(), check: z.enum(['content', 'link', 'sequence', 'unhashed']), reason: z.string() })
    .nullable(),
});

const runParams = z.object({ id: z.string() });
const READ_ACCESS = 'runs:read or audit:read';

/** The run whose audit a reader asks for: 404 when there is none; its process goes on the request's log line. */
async function readableRun(ctx: ApiContext, req: Request, runId: string, annotate: (fields: { process: string }) => void): Promise<string> {
  assertCanRead(req);
  const run = await ctx.db.run.findUnique({ where: { id: runId }, select: { process: true } });
  if (!run) throw new AppError('not_found', `No run ${runId}`);
  annotate({ process: run.process });
  return runId;
}

/**
 * The append-only audit log: per run as JSON, the whole log (or a window) as JSON lines or CSV, and the verification
 * of its hash chains (lib/audit-chain.ts).
 */
export const auditRoutes = [
  defineRoute({
    method: 'get',
    path: '/runs/:id/audit',
    operationId: 'getRunAudit',
    tag: 'Audit',
    summary: "A run's audit entries, oldest first",
    accessNote: READ_ACCESS,
    request: { params: runParams },
    responses: { 200: { description: 'Entries', schema: z.object({ items: z.array(auditEntrySchema) }) } },
    errors: { 404: 'No such run' },
    async handler(ctx, { req, params, res, annotate }) {
      const runId = await readableRun(ctx, req, params.id, annotate);
      const entries = await ctx.db.auditEntry.findMany({ where: { runId }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
      res.json({ items: entries.map(auditView) });
    },
  }),

  /** Whether the run's audit entries are as they were written: which entry breaks the chain first, if any. */
  defineRoute({
    method: 'get',
    path: '/runs/:id/audit/verify',
    operationId: 'verifyRunAudit',
    tag: 'Audit',
    summary: "Recompute a run's audit hash chain and name the first entry that was changed, removed, inserted or reordered",
    accessNote: READ_ACCESS,
    request: { params: runParams },
    responses: { 200: { description: 'The verification', schema: chainVerificationSchema.extend({ runId: z.string() }) } },
    errors: { 404: 'No such run' },
    async handler(ctx, { req, params, res, annotate }) {
      const runId = await readableRun(ctx, req, params.id, annotate);
      res.json({ runId, ...(await verifyStoredChain(ctx.db, runId)) });
    },
  }),

  /** Any chain, e.g. `org` (directory and delegation changes), for auditors with audit:read. */
  defineRoute({
    method: 'get',
    path: '/audit/verify',
    operationId: 'verifyAuditChain',
    tag: 'Audit',
    summary: 'Recompute any audit hash chain, e.g. chain=org for directory and delegation entries',
    scope: 'audit:read',
    request: { query: auditVerifyQuerySchema },
    responses: { 200: { description: 'The verification', schema: chainVerificationSchema.extend({ chain: z.string() }) } },
    errors: { 404: 'No such chain' },
    async handler(ctx, { query, res }) {
      const { chain } = query;
      const result = await verifyStoredChain(ctx.db, chain);
      if (result.entries === 0 && chain !== 'org') throw new AppError('not_found', `No audit chain ${chain}`);
      res.json({ chain, ...result });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/audit/export',
    operationId: 'exportAudit',
    tag: 'Audit',
    summary: 'The audit log (or a window of it) as JSON lines or CSV, streamed',
    scope: 'audit:read',
    request: { query: auditExportQuerySchema },
    responses: { 200: { description: 'Entries in time order; JSON lines (AuditEntry per line) or CSV', contentType: ['application/x-ndjson', 'text/csv'] } },
    async handler(ctx, { query, res }) {
      const where = {
        ...(query.runId ? { runId: query.runId } : {}),
        ...(query.from || query.to ? { at: { ...(query.from ? { gte: query.from } : {}), ...(query.to ? { lt: query.to } : {}) } } : {}),
      };
      const csv = query.format === 'csv';
      res.setHeader('Content-Type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
      res.setHeader('Content-Disposition', `attachment; filename="opsflow-audit.${query.format}"`);
      if (csv) res.write(`${csvColumns.join(',')}\r\n`);
      // Keyset pages in time order (at, then id for ties): entries may be written with an earlier `at` than
      // their neighbours (a decision records when it was made), and a large log never sits in memory.
      for (let after: { at: Date; id: bigint } | undefined; ; ) {
        const page = after ? { OR: [{ at: { gt: after.at } }, { at: after.at, id: { gt: after.id } }] } : {};
        const batch = await ctx.db.auditEntry.findMany({ where: { AND: [where, page] }, orderBy: [{ at: 'asc' }, { id: 'asc' }], take: BATCH });
        for (const entry of batch) res.write(csv ? `${csvRow(auditView(entry))}\r\n` : `${JSON.stringify(auditView(entry))}\n`);
        if (batch.length < BATCH) break;
        after = { at: batch.at(-1)!.at, id: batch.at(-1)!.id };
      }
      res.end();
    },
  }),
];
