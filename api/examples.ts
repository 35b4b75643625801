import { z } from 'zod';
import { approvalRequestId } from '../processes/approval-messages.js';
import { factsOf, findProcess, policySchemaOf } from '../processes/index.js';
import { policyLimits } from '../processes/policy.js';

/**
 * The examples the OpenAPI document shows (the route table names them; api/openapi.ts puts them in), as one story:
 * Alex Rivera asks for a 25,000 EUR laser cutter, Morgan Lee approves it in Slack, the finance director's decision
 * is open. The facts, their version and the policy are computed from the capex definition, so they are what the
 * API answers for that input. test/unit/api-spec.test.ts parses every example with the schema it illustrates.
 */

const capex = findProcess('capex')!;
const RUN_ID = 'capex-5f0c2a9e-3b7d-4e61-9d0a-1f2e3d4c5b6a';
const requester = { name: 'Alex Rivera', email: 'alex.rivera@example.com' };

export const startRunBodyExample = {
  process: 'capex',
  input: {
    title: 'Laser cutter',
    amount: 25000,
    currency: 'EUR',
    costCenter: 'OPS-100',
    category: 'equipment',
    vendor: 'Trumpf',
    justification: 'Replaces the 2009 cutter that fails weekly',
    requester,
  },
};

const { facts, version } = factsOf(capex, startRunBodyExample.input);
const lineManagerRequest = approvalRequestId(RUN_ID, 'line-manager', { attempt: 1, seat: 0, round: 1 });
const financeRequest = approvalRequestId(RUN_ID, 'finance-director', { attempt: 1, seat: 0, round: 1 });
const defaultPolicy = policySchemaOf(capex, policyLimits(false)).parse({}) as Record<string, unknown>;
const raisedCfoThreshold = { ...defaultPolicy, thresholds: { financeDirectorFrom: 10000, cfoFrom: 150000 } };

export const startedRunExample = { runId: RUN_ID, status: 'running', links: { self: `/runs/${RUN_ID}` } };

const runSummaryExample = {
  runId: RUN_ID,
  process: 'capex',
  title: 'Laser cutter',
  status: 'running',
  currentStep: 'finance-director',
  requester,
  amount: 25000,
  currency: 'EUR',
  startedAt: '2026-03-02T09:14:05.120Z',
  closedAt: null,
  stuck: null,
};

export const runListExample = {
  items: [
    runSummaryExample,
    {
      runId: 'capex-0b7e4d21-8c3a-4f59-a6d2-7e1f9c0b3a58',
      process: 'capex',
      title: 'Forklift battery replacement',
      status: 'completed',
      currentStep: 'purchase-order',
      requester: { name: 'Casey Nguyen', email: 'casey.nguyen@example.com' },
      amount: 8400,
      currency: 'EUR',
      startedAt: '2026-02-27T13:40:11.502Z',
      closedAt: '2026-02-28T08:02:47.915Z',
      stuck: null,
    },
  ],
  // As GET /runs makes it: the last run of the page, where the next page starts.
  nextCursor: Buffer.from('2026-02-27T13:40:11.502Z|capex-0b7e4d21-8c3a-4f59-a6d2-7e1f9c0b3a58').toString('base64url'),
};

export const runDetailExample = {
  ...runSummaryExample,
  processTitle: capex.title,
  outcome: null,
  failureReason: null,
  failure: null,
  input: startRunBodyExample.input,
  facts,
  version,
  startedBy: requester.email,
  policy: { version: 3, overridden: false, effective: raisedCfoThreshold },
  settings: {},
  approvals: [
    {
      requestId: lineManagerRequest,
      step: 'line-manager',
      stepTitle: 'Line manager approval',
      round: 1,
      approver: { name: 'Morgan Lee', email: 'morgan.lee@example.com', role: 'manager-of-requester' },
      state: 'approved',
      decision: 'approved',
      comment: 'Fits the budget',
      decidedBy: 'morgan.lee@example.com',
      decidedAt: '2026-03-02T10:02:31.884Z',
      channel: 'slack',
      requestedAt: '2026-03-02T09:14:05.981Z',
      expiresAt: '2026-03-05T09:14:05.981Z',
      remindersSent: 0,
      revokedReason: null,
      decidedVersion: version,
      factsSnapshot: facts,
    },
    {
      requestId: financeRequest,
      step: 'finance-director',
      stepTitle: 'Finance director approval',
      round: 1,
      approver: { name: 'Priya Shah', email: 'priya.shah@example.com', role: 'role:finance-director' },
      state: 'pending',
      decision: null,
      comment: null,
      decidedBy: null,
      decidedAt: null,
      channel: null,
      requestedAt: '2026-03-02T10:02:32.310Z',
      expiresAt: '2026-03-05T10:02:32.310Z',
      remindersSent: 0,
      revokedReason: null,
      decidedVersion: null,
      factsSnapshot: null,
    },
  ],
  timeline: [
    { at: '2026-03-02T09:14:05.120Z', action: 'run.started', actor: requester.email, onBehalfOf: null, step: null, details: { requester: requester.email, startedBy: requester.email, policyVersion: 3 } },
    {
      at: '2026-03-02T09:14:05.981Z',
      action: 'approval.requested',
      actor: 'opsflow',
      onBehalfOf: null,
      step: 'line-manager',
      details: { requestId: lineManagerRequest, approver: 'morgan.lee@example.com', approverRole: 'manager-of-requester', expiresAt: '2026-03-05T09:14:05.981Z' },
    },
    {
      at: '2026-03-02T10:02:31.884Z',
      action: 'approval.decided',
      actor: 'morgan.lee@example.com',
      onBehalfOf: null,
      step: 'line-manager',
      details: { requestId: lineManagerRequest, decision: 'approved', comment: 'Fits the budget', channel: 'slack', version },
    },
    {
      at: '2026-03-02T10:02:32.310Z',
      action: 'approval.requested',
      actor: 'opsflow',
      onBehalfOf: null,
      step: 'finance-director',
      details: { requestId: financeRequest, approver: 'priya.shah@example.com', approverRole: 'role:finance-director', expiresAt: '2026-03-05T10:02:32.310Z' },
    },
  ],
  health: { status: 'ok' },
};

export const decisionBodyExample = { decision: 'approve', comment: 'Within the plant budget', version };
export const decidedExample = { requestId: financeRequest, decision: 'approved', decidedAt: '2026-03-02T14:21:09.447Z' };
export const decisionPendingExample = { status: 'pending', message: 'Sent; the run has not confirmed it yet. Repeating the same request is safe.' };

export const cancelBodyExample = { reason: 'Bought a refurbished cutter instead' };
export const cancellingExample = { runId: RUN_ID, status: 'cancelling', links: { self: `/runs/${RUN_ID}` } };

export const setPolicyBodyExample = { policy: raisedCfoThreshold, reason: 'The CFO signs from 150,000 EUR (board decision of 2026-02-20)', basedOn: 2 };
export const policyVersionExample = {
  process: 'capex',
  version: 3,
  policy: raisedCfoThreshold,
  createdBy: 'sam.okafor@example.com',
  createdAt: '2026-02-23T08:30:00.000Z',
  reason: setPolicyBodyExample.reason,
};

const bounds = policyLimits(false);
const policyJsonSchema = z.toJSONSchema(policySchemaOf(capex, bounds), { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, unknown> };
export const policyInForceExample = {
  ...policyVersionExample,
  bounds,
  // Abridged to its first property: the whole schema of the capex policy would fill the page.
  schema: { ...policyJsonSchema, properties: { thresholds: policyJsonSchema.properties.thresholds } },
  links: { versions: '/processes/capex/policy/versions', change: { method: 'PUT', href: '/processes/capex/policy', scope: 'policies:write' } },
};

export const receiveEventBodyExample = { type: 'offer.accepted', data: { requisitionReference: 'hiring-3c9d1e7a-52b4-4f0e-8a61-d2c7b9e04f13', candidateId: 'cand-123' } };
const appliedEventExample = {
  eventId: '9e2f4c61-7a3b-4d85-b0e9-1c6a5f2d8b47',
  source: 'ats',
  webhookId: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
  type: 'offer.accepted',
  status: 'applied',
  runId: 'hiring-3c9d1e7a-52b4-4f0e-8a61-d2c7b9e04f13',
  reason: null,
  payload: receiveEventBodyExample.data,
  receivedAt: '2026-03-02T11:05:44.218Z',
  routedAt: '2026-03-02T11:05:44.391Z',
};
export const receivedEventExample = appliedEventExample;
export const duplicateEventExample = { ...appliedEventExample, duplicate: true };
export const eventListExample = {
  items: [
    appliedEventExample,
    {
      eventId: '4b1d8e30-6f2a-49c7-9e15-a83c2d7f0e96',
      source: 'erp',
      webhookId: 'msg_2KWNz0cMqJ4TnD1fY7xR3hB9sVe',
      type: 'goods.received',
      status: 'held',
      runId: null,
      reason: 'waiting for the invoice-match run with key PO-4471 to start',
      heldFor: 'invoice-match',
      correlationKey: 'PO-4471',
      holdUntil: '2026-03-09T10:58:02.004Z',
      payload: { poNumber: 'PO-4471', receiptId: 'GR-2093', amount: 1250 },
      receivedAt: '2026-03-02T10:58:02.004Z',
      routedAt: '2026-03-02T10:58:02.031Z',
    },
  ],
};

export const createWebhookBodyExample = { url: 'https://hooks.example.com/opsflow', eventTypes: ['run.completed'], process: 'capex' };
export const webhookCreatedExample = {
  id: 'whk_8f3a1c0d9e7b6a5f4c2d',
  url: 'https://hooks.example.com/opsflow',
  eventTypes: ['run.completed'],
  process: 'capex',
  description: null,
  createdBy: 'ops.desk@example.com',
  createdAt: '2026-03-01T16:20:00.000Z',
  secret: 'whsec_c2VjcmV0LWZvci10aGUtZXhhbXBsZS1vbmx5',
};

export const createScheduleBodyExample = {
  id: 'monthly-spend-review',
  process: 'capex',
  input: { title: 'Monthly spend review', amount: 1000, currency: 'EUR', costCenter: 'OPS-100', category: 'services', vendor: 'Internal', justification: 'The monthly review of open spend' },
  cron: '0 9 1 * *',
  timezone: 'Europe/Berlin',
};
export const scheduleCreatedExample = {
  id: 'monthly-spend-review',
  process: 'capex',
  every: null,
  cron: '0 9 1 * *',
  timezone: 'Europe/Berlin',
  createdBy: 'ops.desk@example.com',
  paused: false,
  note: null,
  nextRunTimes: ['2026-04-01T07:00:00.000Z', '2026-05-01T07:00:00.000Z', '2026-06-01T07:00:00.000Z', '2026-07-01T07:00:00.000Z', '2026-08-01T07:00:00.000Z'],
  runsStarted: 0,
  recentRuns: [],
  createdAt: '2026-03-02T12:00:00.000Z',
};

export const createKeyBodyExample = { name: 'Slack approvals bot', email: 'morgan.lee@example.com', scopes: ['decisions:write', 'runs:read'] };
export const keyCreatedExample = {
  id: 'Q7mZpX2cL9vK',
  name: 'Slack approvals bot',
  personEmail: 'morgan.lee@example.com',
  scopes: ['decisions:write', 'runs:read'],
  createdAt: '2026-03-02T12:30:00.000Z',
  lastUsedAt: null,
  revokedAt: null,
  key: 'opk_Q7mZpX2cL9vK_exampleOnly-notARealSecret-0123456789abcdef',
};
