import createClient, { type Client } from 'openapi-fetch';
import type { components, operations, paths } from './schema.js';

/**
 * The typed Opsflow API client: openapi-fetch over the types openapi-typescript generated from the route table
 * (client/schema.d.ts, `npm run client:generate`). Paths, parameters, bodies and each status's answer are typed.
 *
 *   const opsflow = createOpsflowClient({ baseUrl: 'http://localhost:4000', apiKey: process.env.OPSFLOW_KEY });
 *   const { data, error, response } = await opsflow.GET('/runs/{id}', { params: { path: { id } } });
 */
export type OpsflowClient = Client<paths>;

export interface OpsflowClientOptions {
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  headers?: Record<string, string>;
  fetch?: (input: Request) => Promise<Response>;
}

export function createOpsflowClient(options: OpsflowClientOptions): OpsflowClient {
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}), ...options.headers },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

export type Schemas = components['schemas'];
export type Run = Schemas['Run'];
export type RunSummary = Schemas['RunSummary'];
export type StartedRun = Schemas['StartedRun'];
export type OpenDecisions = Schemas['OpenDecisions'];
export type Decided = Schemas['Decided'];
export type InboundEvent = Schemas['Event'];
export type ApiError = Schemas['Error'];
export type Task = Schemas['Task'];
export type TaskDetail = Schemas['TaskDetail'];
export type Incident = Schemas['Incident'];
export type IncidentDetail = Schemas['IncidentDetail'];
export type StartRunBody = NonNullable<operations['startRun']['requestBody']>['content']['application/json'];
export type DecisionBody = NonNullable<operations['decide']['requestBody']>['content']['application/json'];
export type { components, operations, paths };
