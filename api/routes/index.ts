import type { AnyRoute } from '../route-table.js';
import { auditRoutes } from './audit-log.js';
import { decisionRoutes } from './decisions.js';
import { eventRoutes } from './events.js';
import { healthRoutes } from './health.js';
import { incidentRoutes } from './incidents.js';
import { inboundEmailRoutes } from './inbound-email.js';
import { keyRoutes } from './keys.js';
import { kpiRoutes } from './kpis.js';
import { peopleRoutes } from './people.js';
import { policyRoutes } from './policies.js';
import { processRoutes } from './processes.js';
import { runRoutes } from './runs.js';
import { scheduleRoutes } from './schedules.js';
import { taskRoutes } from './tasks.js';
import { webhookRoutes } from './webhooks.js';

/** Every JSON route of the API, in the order Express tries them (api/app.ts mounts this table). */
export const apiRoutes: readonly AnyRoute[] = [
  ...healthRoutes,
  ...processRoutes,
  ...policyRoutes,
  ...runRoutes,
  ...decisionRoutes,
  ...taskRoutes,
  ...incidentRoutes,
  ...eventRoutes,
  ...inboundEmailRoutes,
  ...auditRoutes,
  ...kpiRoutes,
  ...peopleRoutes,
  ...webhookRoutes,
  ...scheduleRoutes,
  ...keyRoutes,
];

export const apiTags = [
  { name: 'Runs', description: 'Start, list, read and cancel runs of a process' },
  { name: 'Decisions', description: 'Decide open approval requests over the API (integrations, the CLI) and move them' },
  { name: 'Tasks', description: 'Human tasks: claim, complete, hand back and reassign work given to people and groups' },
  { name: 'Incidents', description: 'Incidents: acknowledge a page, post status, resolve, and read where a page went' },
  { name: 'Processes', description: 'The process catalog: input schemas and diagrams' },
  { name: 'Policies', description: "Each process's versioned policy: thresholds, approvers, timing" },
  { name: 'Events', description: 'Inbound events from surrounding systems and their routing to runs' },
  { name: 'Audit', description: 'The append-only, hash-chained audit log' },
  { name: 'Directory', description: 'People, managers, roles and out-of-office delegations' },
  { name: 'Webhooks', description: 'Outbound run lifecycle webhooks and their delivery log' },
  { name: 'Schedules', description: 'Runs of a process on a calendar' },
  { name: 'Keys', description: 'API keys' },
  { name: 'Operations', description: 'Health and KPIs' },
];
