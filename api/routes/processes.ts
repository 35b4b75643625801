import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { processes, findProcess, policySchemaOf, type ProcessDefinition } from '../../processes/index.js';
import { productionLimits } from '../../processes/policy.js';

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

export function processesRouter(): Router {
  const router = Router();
  router.get('/processes', (_req, res) => {
    res.json({ items: processes.map(catalogEntry) });
  });
  router.get('/processes/:key', (req, res) => {
    const process = findProcess(req.params.key);
    if (!process) throw new AppError('not_found', `Unknown process "${req.params.key}"`);
    res.json(catalogEntry(process));
  });
  return router;
}
