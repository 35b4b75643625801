import { createOpsflowClient, type DecisionBody, type OpsflowClient, type operations, type Run, type StartRunBody } from '../../client/index.js';
import type { CapturedMail } from '../../dev/mail-sink.js';
import type { Stack } from './stack.js';

/** The approval link in a mail's text part. */
export function approvalLinkIn(mail: CapturedMail): string {
  const match = /https?:\/\/\S+\/approvals\/[A-Za-z0-9_-]{43}/.exec(mail.text);
  if (!match) throw new Error(`No approval link in mail "${mail.subject}":\n${mail.text}`);
  return match[0];
}

export async function waitForApprovalMail(stack: Stack, to: string, options: { subject?: RegExp; timeoutMs?: number } = {}) {
  const mail = await stack.mail.waitFor(
    (m) => m.to.some((address) => address.toLowerCase() === to) && (options.subject ?? /Approval needed/).test(m.subject),
    { timeoutMs: options.timeoutMs ?? 20_000 },
  );
  return { mail, link: approvalLinkIn(mail) };
}

let defaultHeaders: Record<string, string> = {};
let defaultKey: string | undefined;

/** The API key requests carry unless a test passes its own headers (each test file runs in its own process). */
export function useApiKey(key: string | undefined): void {
  defaultKey = key;
  defaultHeaders = key ? { authorization: `Bearer ${key}` } : {};
}

/**
 * The generated, typed client (client/) on this stack's API, with the stack's admin key unless another is given.
 * The helpers below use it, so a response that stops matching the spec fails typecheck (and the test-mode check).
 */
export function apiClient(stack: { apiUrl: string }, key = defaultKey): OpsflowClient {
  return createOpsflowClient({ baseUrl: stack.apiUrl, apiKey: key });
}

/** POST /runs through the typed client: 201 (or 200 for a repeated Idempotency-Key) with the run id. */
export async function startRun(stack: { apiUrl: string }, body: StartRunBody, options: { key?: string; idempotencyKey?: string } = {}) {
  const { data, error, response } = await apiClient(stack, options.key).POST('/runs', {
    body,
    ...(options.idempotencyKey ? { headers: { 'Idempotency-Key': options.idempotencyKey } } : {}),
  });
  return { status: response.status, run: data, error };
}

/** GET /runs/{id} through the typed client; throws unless it answers 200. */
export async function getRun(stack: { apiUrl: string }, runId: string, key?: string): Promise<Run> {
  const { data, error, response } = await apiClient(stack, key).GET('/runs/{id}', { params: { path: { id: runId } } });
  if (!data) throw new Error(`GET /runs/${runId} answered ${response.status}: ${JSON.stringify(error)}`);
  return data;
}

/** GET /runs/{id}/decisions: what waits on the key's person on this run, and the version to decide on. */
export async function openDecisions(stack: { apiUrl: string }, runId: string, key?: string) {
  const { data, error, response } = await apiClient(stack, key).GET('/runs/{id}/decisions', { params: { path: { id: runId } } });
  return { status: response.status, decisions: data, error };
}

/** POST /runs/{id}/decisions as the key's person. */
export async function decideByApi(stack: { apiUrl: string }, runId: string, body: DecisionBody, key?: string) {
  const { data, error, response } = await apiClient(stack, key).POST('/runs/{id}/decisions', { params: { path: { id: runId } }, body });
  return { status: response.status, decided: data, error };
}

/** GET /events?… through the typed client. */
export async function listEvents(stack: { apiUrl: string }, query: NonNullable<operations['listEvents']['parameters']['query']>) {
  const { data, error } = await apiClient(stack).GET('/events', { params: { query } });
  if (!data) throw new Error(`GET /events answered ${JSON.stringify(error)}`);
  return data.items;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...defaultHeaders, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

export async function getJson(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers: { ...defaultHeaders, ...headers } });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

/** The decision version a rendered approval page carries in its form (what a browser would post back). */
export function versionOnPage(page: string): string {
  const match = /name="version" value="([0-9a-f]{64})"/.exec(page);
  if (!match) throw new Error(`No decision version on the page:\n${page.slice(0, 2000)}`);
  return match[1]!;
}

/** The "Decisions so far" list of an approval page, one line of plain text per decision, as a reader sees it. */
export function decisionsSoFarOn(page: string): string[] {
  const list = /<ol class="history">([\s\S]*?)<\/ol>/.exec(page)?.[1];
  if (list === undefined) return [];
  return [...list.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((item) =>
    item[1]!
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

/**
 * Submits the approval form as a browser would: opens the page, then posts the decision with the version the page
 * showed (pass `version` to post one seen earlier).
 */
export async function submitDecision(
  link: string,
  decision: 'approve' | 'reject' | 'request_changes',
  comment = '',
  userAgent = 'vitest-browser',
  version?: string,
) {
  const seen = version ?? (await openedVersion(link));
  const response = await fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgent },
    body: new URLSearchParams({ decision, comment, ...(seen ? { version: seen } : {}) }).toString(),
  });
  return { status: response.status, html: await response.text() };
}

/** The version on the link's page, or undefined when the link no longer shows a decision form. */
async function openedVersion(link: string): Promise<string | undefined> {
  const page = await fetch(link);
  const html = await page.text();
  return page.ok ? versionOnPage(html) : undefined;
}

/** The run's current decision version, as an integration reads it from GET /runs/:id before deciding. */
export async function currentVersion(stack: { apiUrl: string }, runId: string): Promise<string> {
  return (await getRun(stack, runId)).version;
}

export async function waitUntil<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function waitForRunStatus(stack: Stack, runId: string, status: Run['status'], timeoutMs = 30_000): Promise<Run> {
  return waitUntil(
    async () => {
      const run = await getRun(stack, runId);
      return run.status === status ? run : undefined;
    },
    `run ${runId} to be ${status}`,
    timeoutMs,
  );
}

/** Posts a form (a revision, an outside form) as a browser would. */
export async function submitForm(link: string, fields: Record<string, string>) {
  const response = await fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'requester-browser' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, html: await response.text() };
}
