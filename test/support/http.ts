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

/** The API key requests carry unless a test passes its own headers (each test file runs in its own process). */
export function useApiKey(key: string | undefined): void {
  defaultHeaders = key ? { authorization: `Bearer ${key}` } : {};
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

/** Submits the approval form as a browser would (urlencoded POST). */
export async function submitDecision(link: string, decision: 'approve' | 'reject' | 'request_changes', comment = '', userAgent = 'vitest-browser') {
  const response = await fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgent },
    body: new URLSearchParams({ decision, comment }).toString(),
  });
  return { status: response.status, html: await response.text() };
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

export async function waitForRunStatus(stack: Stack, runId: string, status: string, timeoutMs = 30_000) {
  return waitUntil(
    async () => {
      const { body } = await getJson(`${stack.apiUrl}/runs/${runId}`);
      return body.status === status ? body : undefined;
    },
    `run ${runId} to be ${status}`,
    timeoutMs,
  );
}
