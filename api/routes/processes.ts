import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { processes, findProcess, policySchemaOf, type ProcessDefinition } from '../../processes/index.js';
import { productionLimits } from '../../processes/policy.js';
import type { ProcessDiagram } from '../../processes/diagram.js';
import { currentPolicy, inSchemaOrder } from '../../lib/policy-store.js';
import type { ApiContext } from '../context.js';
import { diagramSvg } from '../pages/diagram.js';

function catalogEntry(p: ProcessDefinition) {
  const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return {
    key: p.key,
    title: p.title,
    description: p.description,
    whoMayStart: p.whoMayStart,
    slas: p.slas,
    events: {
      startsOn: (p.events?.starts ?? []).map((r) => ({ source: r.source, type: r.type })),
      consumes: (p.events?.consumes ?? []).map((r) => ({ source: r.source, type: r.type })),
    },
    inputSchema: jsonSchema(p.inputSchema),
    /** The shape of the process's policy (GET /processes/:key/policy holds the version in force), with production's bounds. */
    policySchema: jsonSchema(policySchemaOf(p, productionLimits)),
    links: {
      start: { method: 'POST', href: '/runs', body: { process: p.key, input: '…', settings: '… (optional, runs:configure)' } },
      policy: { method: 'GET', href: `/processes/${p.key}/policy` },
    },
  };
}

/** The process's steps under the policy in force: its thresholds, approvers and deadlines filled in. */
export async function diagramOf(ctx: Pick<ApiContext, 'db'>, process: ProcessDefinition): Promise<ProcessDiagram> {
  const current = await currentPolicy(ctx.db, process);
  const nodes = process.diagram?.(inSchemaOrder(process, current.policy) as never) ?? [];
  return { process: process.key, policyVersion: current.version, nodes };
}

export function processesRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/processes', (_req, res) => {
    res.json({ items: processes.map(catalogEntry) });
  });
  router.get('/processes/:key', async (req, res) => {
    const process = findProcess(req.params.key);
    if (!process) throw new AppError('not_found', `Unknown process "${req.params.key}"`);
    res.json({ ...catalogEntry(process), diagram: await diagramOf(ctx, process), links: { ...catalogEntry(process).links, diagram: { method: 'GET', href: `/processes/${process.key}/diagram.svg` } } });
  });
  router.get('/processes/:key/diagram.svg', async (req, res) => {
    const process = findProcess(req.params.key);
    if (!process) throw new AppError('not_found', `Unknown process "${req.params.key}"`);
    const diagram = await diagramOf(ctx, process);
    res.type('image/svg+xml').setHeader('Cache-Control', 'no-cache');
    res.send(diagramSvg(process.title, diagram.nodes, `As the policy in force (version ${diagram.policyVersion}) has it`));
  });
  return router;
}
