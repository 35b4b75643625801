import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { processes } from '../processes/index.js';
import { auditExportQuerySchema, auditVerifyQuerySchema } from './routes/audit-log.js';
import { decisionBodySchema, reassignBodySchema } from './routes/decisions.js';
import { kpiQuerySchema } from './routes/kpis.js';
import { createPersonSchema, delegationSchema, updatePersonSchema } from './routes/people.js';
import { listRunsQuerySchema } from './routes/runs.js';
import { createScheduleSchema, pauseScheduleSchema } from './routes/schedules.js';
import { eventsQuerySchema, operatorEventSchema } from './routes/events.js';
import { createSubscriptionSchema, deliveriesQuerySchema } from './routes/webhooks.js';

const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z
      .object({ issues: z.array(z.object({ path: z.string(), message: z.string() })).optional() })
      .catchall(z.unknown())
      .optional(),
  }),
});

const runIdParams = z.object({ id: z.string() });
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorSchema } } });

const settingsSchema = z
  .record(z.string(), z.unknown())
  .optional()
  .describe("Overrides of the process's policy for this run (needs runs:configure; same bounds as the policy): see GET /processes/{key}/policy");

/** One start body per registered process, so the docs show each process's own input. */
function startRunBody() {
  const variants = processes.map((p) => z.object({ process: z.literal(p.key), input: p.inputSchema, settings: settingsSchema }).describe(p.title));
  return variants.length === 1 ? variants[0]! : z.union(variants as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]);
}

export function buildOpenApiDocument(serverUrl: string) {
  const registry = new OpenAPIRegistry();

  registry.registerPath({
    method: 'post',
    path: '/runs',
    summary: 'Start a run of a process',
    description: 'Validates `input` against the process schema and starts its workflow. Returns at once.',
    request: {
      headers: z.object({ 'Idempotency-Key': z.string().max(200).optional() }),
      body: { content: { 'application/json': { schema: startRunBody() } } },
    },
    responses: {
      201: { description: 'Run started', content: { 'application/json': { schema: z.object({ runId: z.string(), status: z.string() }) } } },
      200: { description: 'Same Idempotency-Key and body as an earlier request: that run' },
      400: errorResponse('Malformed JSON'),
      404: errorResponse('Unknown process'),
      413: errorResponse('Body too large'),
      422: errorResponse('Invalid input; details.issues names each field path'),
      503: errorResponse('Workflow engine unavailable; nothing was started'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/runs',
    summary: 'List runs, newest first',
    request: { query: listRunsQuerySchema },
    responses: { 200: { description: 'A page of runs and `nextCursor`' }, 422: errorResponse('Invalid query') },
  });
  registry.registerPath({
    method: 'get',
    path: '/runs/{id}',
    summary: 'A run: status, current step, approvals and timeline',
    request: { params: runIdParams },
    responses: { 200: { description: 'The run' }, 404: errorResponse('No such run') },
  });
  registry.registerPath({
    method: 'post',
    path: '/runs/{id}/cancel',
    summary: 'Cancel a running run (open approval links stop working)',
    request: { params: runIdParams },
    responses: { 202: { description: 'Cancellation requested' }, 404: errorResponse('No such run'), 409: errorResponse('Run is not running') },
  });
  registry.registerPath({
    method: 'get',
    path: '/processes',
    summary: 'The process catalog with JSON Schema of each input',
    responses: { 200: { description: 'Processes' } },
  });
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness and dependency checks',
    responses: { 200: { description: 'Healthy' }, 503: { description: 'A dependency is down' } },
  });

  const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
  const personParams = z.object({ email: z.string() });
  registry.registerPath({
    method: 'post',
    path: '/runs/{id}/decisions',
    summary: "Decide the key holder's open request on a run (scope decisions:write)",
    request: { params: runIdParams, body: json(decisionBodySchema) },
    responses: { 200: { description: 'Decided' }, 202: { description: 'Sent, not yet confirmed; repeating is safe' }, 403: errorResponse('Not your request'), 409: errorResponse('Already decided or nothing waiting'), 410: errorResponse('Expired or no longer needed'), 422: errorResponse('Comment missing') },
  });
  registry.registerPath({
    method: 'post',
    path: '/runs/{id}/approvals/{requestId}/reassign',
    summary: 'Move an open approval request to another person (scope runs:manage)',
    request: { params: z.object({ id: z.string(), requestId: z.string() }), body: json(reassignBodySchema) },
    responses: { 200: { description: 'Reassigned' }, 410: errorResponse('No longer open'), 422: errorResponse('Unknown person') },
  });
  registry.registerPath({ method: 'get', path: '/runs/{id}/audit', summary: "A run's audit entries", request: { params: runIdParams }, responses: { 200: { description: 'Entries' }, 404: errorResponse('No such run') } });
  const chainVerification = z.object({
    ok: z.boolean(),
    entries: z.number().int().describe('Every entry of the chain, legacy ones included'),
    legacy: z.number().int().describe('Entries written before chaining began: numbered but not hashed'),
    head: z.object({ seq: z.number().int(), hash: z.string() }).nullable().describe('The last chained entry: keep its hash elsewhere to anchor the chain'),
    firstBroken: z
      .object({ id: z.string(), seq: z.number().int(), action: z.string(), at: z.string(), check: z.enum(['content', 'link', 'sequence', 'unhashed']), reason: z.string() })
      .nullable(),
  });
  registry.registerPath({
    method: 'get',
    path: '/runs/{id}/audit/verify',
    summary: "Recompute a run's audit hash chain and name the first entry that was changed, removed, inserted or reordered",
    request: { params: runIdParams },
    responses: { 200: { description: 'The verification', content: { 'application/json': { schema: chainVerification.extend({ runId: z.string() }) } } }, 404: errorResponse('No such run') },
  });
  registry.registerPath({
    method: 'get',
    path: '/audit/verify',
    summary: 'Recompute any audit hash chain, e.g. chain=org for directory and delegation entries (scope audit:read)',
    request: { query: auditVerifyQuerySchema },
    responses: { 200: { description: 'The verification', content: { 'application/json': { schema: chainVerification.extend({ chain: z.string() }) } } }, 404: errorResponse('No such chain'), 422: errorResponse('Invalid query') },
  });
  registry.registerPath({ method: 'get', path: '/audit/export', summary: 'The audit log as JSON lines or CSV (scope audit:read)', request: { query: auditExportQuerySchema }, responses: { 200: { description: 'Streamed entries' }, 422: errorResponse('Invalid query') } });
  registry.registerPath({ method: 'get', path: '/kpis', summary: 'Operations KPIs over a window', request: { query: kpiQuerySchema }, responses: { 200: { description: 'KPIs' }, 422: errorResponse('Invalid query') } });
  registry.registerPath({ method: 'get', path: '/directory/people', summary: 'The approver directory (?role=; scope directory:read)', responses: { 200: { description: 'People' }, 403: errorResponse('Needs directory:read') } });
  registry.registerPath({ method: 'post', path: '/directory/people', summary: 'Add a person (scope directory:write)', request: { body: json(createPersonSchema) }, responses: { 201: { description: 'Added' }, 409: errorResponse('Already there'), 422: errorResponse('Invalid') } });
  registry.registerPath({ method: 'patch', path: '/directory/people/{email}', summary: 'Edit a person (scope directory:write)', request: { params: personParams, body: json(updatePersonSchema) }, responses: { 200: { description: 'Edited' } } });
  registry.registerPath({ method: 'post', path: '/directory/people/{email}/delegations', summary: 'Out of office: route new requests to a delegate (the person themself, or directory:write)', request: { params: personParams, body: json(delegationSchema) }, responses: { 201: { description: 'Created' }, 403: errorResponse('Not yours'), 422: errorResponse('Invalid window') } });
  const webhookParams = z.object({ id: z.string() });
  registry.registerPath({ method: 'post', path: '/webhooks', summary: 'Subscribe a URL to run lifecycle events (scope webhooks:manage); the signing secret is returned once', request: { body: json(createSubscriptionSchema) }, responses: { 201: { description: 'Subscribed' }, 422: errorResponse('Invalid URL, event type or process') } });
  registry.registerPath({ method: 'get', path: '/webhooks', summary: 'Webhook subscriptions', responses: { 200: { description: 'Subscriptions' } } });
  registry.registerPath({ method: 'get', path: '/webhooks/{id}', summary: 'A subscription with delivery counts by status', request: { params: webhookParams }, responses: { 200: { description: 'Subscription' }, 404: errorResponse('No such subscription') } });
  registry.registerPath({ method: 'delete', path: '/webhooks/{id}', summary: 'Unsubscribe (pending deliveries are dropped)', request: { params: webhookParams }, responses: { 204: { description: 'Deleted' }, 404: errorResponse('No such subscription') } });
  registry.registerPath({ method: 'get', path: '/webhooks/{id}/deliveries', summary: 'The delivery log: each event, its status and every attempt', request: { params: webhookParams, query: deliveriesQuerySchema }, responses: { 200: { description: 'Deliveries, newest first' } } });
  registry.registerPath({ method: 'post', path: '/webhooks/{id}/deliveries/{deliveryId}/redeliver', summary: 'Send a delivery again now (same webhook-id) and report the answer', request: { params: z.object({ id: z.string(), deliveryId: z.string() }) }, responses: { 200: { description: 'Attempted; `delivered` says how it went' }, 404: errorResponse('No such delivery') } });
  const scheduleParams = z.object({ id: z.string() });
  registry.registerPath({ method: 'post', path: '/schedules', summary: 'Run a process on a schedule (scopes schedules:manage and runs:start:<process>); input validated now, as POST /runs', request: { body: json(createScheduleSchema) }, responses: { 201: { description: 'Created, with the next run times' }, 409: errorResponse('Name taken'), 422: errorResponse('Invalid input, settings, interval or cron') } });
  registry.registerPath({ method: 'get', path: '/schedules', summary: 'Schedules with next run times and recent runs', responses: { 200: { description: 'Schedules' } } });
  registry.registerPath({ method: 'get', path: '/schedules/{id}', summary: 'A schedule', request: { params: scheduleParams }, responses: { 200: { description: 'Schedule' }, 404: errorResponse('No such schedule') } });
  registry.registerPath({ method: 'post', path: '/schedules/{id}/pause', summary: 'Pause (no runs start until unpaused)', request: { params: scheduleParams, body: json(pauseScheduleSchema) }, responses: { 200: { description: 'Paused' } } });
  registry.registerPath({ method: 'post', path: '/schedules/{id}/unpause', summary: 'Resume', request: { params: scheduleParams }, responses: { 200: { description: 'Resumed' } } });
  registry.registerPath({ method: 'post', path: '/schedules/{id}/trigger', summary: 'Start one run now', request: { params: scheduleParams }, responses: { 202: { description: 'Started' } } });
  registry.registerPath({ method: 'delete', path: '/schedules/{id}', summary: 'Delete (runs already started go on)', request: { params: scheduleParams }, responses: { 204: { description: 'Deleted' } } });
  registry.registerPath({ method: 'post', path: '/events/{source}', summary: 'Receive an event from a source, signed per Standard Webhooks with that source\'s secret; routed to the processes that declare it', request: { params: z.object({ source: z.string() }) }, responses: { 202: { description: 'Recorded; status started | applied | held (its run has not started yet) | unmatched | invalid | received (routing pending)' }, 200: { description: 'Duplicate webhook-id: the first event, routed again first while it is still held or received' }, 400: errorResponse('Missing headers or malformed JSON'), 401: errorResponse('Bad signature or stale timestamp'), 422: errorResponse('Not an event envelope') } });
  registry.registerPath({ method: 'post', path: '/runs/{id}/events', summary: 'Record an event for one run by hand, e.g. an offer accepted by phone (scope runs:manage); applied like a routed event', request: { params: runIdParams, body: json(operatorEventSchema) }, responses: { 200: { description: 'Applied' }, 202: { description: 'The run did not answer yet' }, 409: errorResponse('The run is not waiting for it (recorded as unmatched)') } });
  registry.registerPath({ method: 'get', path: '/events', summary: 'Received events with their routing outcome (?status=held shows what waits for its run to start, ?status=unmatched what no run took)', request: { query: eventsQuerySchema }, responses: { 200: { description: 'Events' } } });
  registry.registerPath({ method: 'post', path: '/events/{id}/route', summary: 'Route an unmatched or invalid event again (scope runs:manage)', request: { params: z.object({ id: z.string() }) }, responses: { 200: { description: 'Routed' }, 202: { description: 'The run did not answer yet; the sweep finishes it' }, 409: errorResponse('Already applied') } });

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Opsflow API',
      version: '0.1.0',
      description: 'Start and follow runs of operational processes. Approvers act through e-mailed links.',
    },
    servers: [{ url: serverUrl }],
  });
}
