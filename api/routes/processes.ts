import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { processes, findProcess, policySchemaOf, type ProcessDefinition } from '../../processes/index.js';
import { productionLimits } from '../../processes/policy.js';
import type { ProcessDiagram } from '../../processes/diagram.js';
import { currentPolicy, inSchemaOrder } from '../../lib/policy-store.js';
import type { ApiContext } from '../context.js';
import { diagramSvg } from '../pages/diagram.js';
import { defineRoute } from '../route-table.js';
import { processOr404 } from './policies.js';

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

const jsonSchemaObject = z.record(z.string(), z.unknown()).describe('JSON Schema (draft 2020-12)');
const eventRef = z.object({ source: z.string(), type: z.string() });
const link = z.object({ method: z.string(), href: z.string() }).catchall(z.unknown());

export const catalogEntrySchema = z
  .object({
    key: z.string().meta({ example: 'capex' }),
    title: z.string(),
    description: z.string(),
    whoMayStart: z.array(z.string()),
    slas: z.array(z.object({ step: z.string(), target: z.string(), onBreach: z.string() })),
    events: z.object({ startsOn: z.array(eventRef), consumes: z.array(eventRef) }),
    inputSchema: jsonSchemaObject,
    policySchema: jsonSchemaObject,
    links: z.record(z.string(), link),
  })
  .meta({ id: 'Process' });

const diagramNodeSchema = z.object({
  id: z.string(),
  kind: z.enum(['approval', 'task', 'system', 'wait', 'form', 'end']),
  title: z.string(),
  who: z.string().optional(),
  when: z.string().optional(),
  systems: z.array(z.string()).optional(),
  deadline: z.string().optional(),
  otherwise: z.string().optional(),
});
export const processDiagramSchema = z.object({ process: z.string(), policyVersion: z.number().int().optional(), nodes: z.array(diagramNodeSchema) });

const processParams = z.object({ key: z.string().meta({ example: 'capex' }) });

export const processRoutes = [
  defineRoute({
    method: 'get',
    path: '/processes',
    operationId: 'listProcesses',
    tag: 'Processes',
    summary: 'The process catalog with JSON Schema of each input and policy',
    auth: 'none',
    responses: { 200: { description: 'Processes', schema: z.object({ items: z.array(catalogEntrySchema) }) } },
    handler(_ctx, { res }) {
      res.json({ items: processes.map(catalogEntry) });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/processes/:key',
    operationId: 'getProcess',
    tag: 'Processes',
    summary: "A process with its steps as data (`diagram`) under the policy in force",
    auth: 'none',
    request: { params: processParams },
    responses: { 200: { description: 'The process', schema: catalogEntrySchema.extend({ diagram: processDiagramSchema }) } },
    errors: { 404: 'Unknown process' },
    async handler(ctx, { params, res }) {
      const process = processOr404(params.key);
      res.json({ ...catalogEntry(process), diagram: await diagramOf(ctx, process), links: { ...catalogEntry(process).links, diagram: { method: 'GET', href: `/processes/${process.key}/diagram.svg` } } });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/processes/:key/diagram.svg',
    operationId: 'getProcessDiagram',
    tag: 'Processes',
    summary: "The process's flow as SVG, thresholds from the policy in force",
    auth: 'none',
    request: { params: processParams },
    responses: { 200: { description: 'An SVG image', contentType: 'image/svg+xml' } },
    errors: { 404: 'Unknown process' },
    async handler(ctx, { params, res }) {
      const process = processOr404(params.key);
      const diagram = await diagramOf(ctx, process);
      res.type('image/svg+xml').setHeader('Cache-Control', 'no-cache');
      res.send(diagramSvg(process.title, diagram.nodes, `As the policy in force (version ${diagram.policyVersion}) has it`));
    },
  }),
];
