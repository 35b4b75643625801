import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { SLACK_ACTIONS } from '../../lib/slack-messages.js';
import { buyer, erpEvent, sendEvent } from '../support/events.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { currentVersion, decideByApi, getRun, postJson, startRun, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

type Line = Record<string, unknown> & { msg?: string };

/** Whole lines of JSON from captured output (a chunk may end mid-line). */
function jsonLines(chunks: string[]): Line[] {
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
}

/**
 * What operators read: the API's lines (the project's logger, JSON as in production, into a buffer) and the
 * worker's (worker/main.ts as a child process at debug level, its stdout captured), and the dev format.
 */
describe('logs an operator can follow a run by', () => {
  let stack: Stack;
  const apiOutput: string[] = [];
  const workerOutput: string[] = [];
  beforeAll(async () => {
    // Slack on (its interactions touch runs); events held briefly and swept only when a test asks (unmatched, then routed).
    stack = await startStack({
      worker: 'none',
      logLevel: 'info',
      logDestination: { write: (line: string) => void apiOutput.push(line) },
      slack: true,
      eventHoldWindow: '1s',
      eventSweep: 'manual',
    });
    await stack.startWorkerProcess({ env: { LOG_LEVEL: 'debug' }, onOutput: (text) => void workerOutput.push(text) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("finds every API and worker line of a capex run by its runId, with process, step and requestId, and the run's lifecycle at info", async () => {
    const started = await startRun(stack, { process: 'capex', input: capexInput({ title: 'Logged capex', amount: 25_000 }), settings: quickTiming });
    const runId = started.run!.runId;
    const morgan = await stack.createKey(approvers.lineManager, ['decisions:write']);
    const priya = await stack.createKey(approvers.financeDirector, ['decisions:write']);
    await waitForApprovalMail(stack, approvers.lineManager, { subject: /Logged capex/ });
    expect((await decideByApi(stack, runId, { decision: 'approve', version: await currentVersion(stack, runId) }, morgan)).status).toBe(200);
    await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Logged capex/ });
    expect((await decideByApi(stack, runId, { decision: 'approve', version: await currentVersion(stack, runId) }, priya)).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
    await getRun(stack, runId);
    // The worker's last lines may still be on their way: the close's activity is the run's last, its line the last.
    await waitUntil(async () => jsonLines(workerOutput).some((l) => l.runId === runId && l.msg === 'activity completed' && l.activity === 'closeRun'), 'the worker to log the run closed');

    const api = jsonLines(apiOutput);
    const worker = jsonLines(workerOutput);
    // Every line that mentions the run carries it as a field: a search by runId finds them all.
    const mentioning = [...api, ...worker].filter((line) => JSON.stringify(line).includes(runId));
    expect(mentioning.filter((line) => line.runId !== runId).map((l) => l.msg)).toEqual([]);
    expect(mentioning.filter((line) => line.process !== 'capex').map((l) => `${String(l.msg)} ${String(l.process)}`)).toEqual([]);

    const apiLines = api.filter((l) => l.runId === runId);
    const requestLines = apiLines.map((l) => l.msg).filter((m): m is string => typeof m === 'string' && /^[A-Z]+ \//.test(m));
    expect(requestLines).toEqual(expect.arrayContaining([expect.stringMatching(/^POST \/runs 201 \d+ms$/), expect.stringMatching(new RegExp(`^GET /runs/${runId} 200 \\d+ms$`))]));
    expect(apiLines.every((l) => typeof l.requestId === 'string')).toBe(true);
    const decisions = apiLines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(`POST /runs/${runId}/decisions 200`));
    expect(decisions.map((l) => l.step)).toEqual(['line-manager', 'finance-director']);

    const workerLines = worker.filter((l) => l.runId === runId);
    const lifecycle = workerLines.filter((l) => l.level === 30 && l.sdkComponent === 'workflow').map((l) => [l.msg, l.step ?? null]);
    expect(lifecycle).toEqual([
      ['run started', null],
      ['step opened', 'line-manager'],
      ['decision applied', 'line-manager'],
      ['step closed', 'line-manager'],
      ['step opened', 'finance-director'],
      ['decision applied', 'finance-director'],
      ['step closed', 'finance-director'],
      ['step opened', 'purchase-order'],
      ['run closed', 'purchase-order'],
    ]);
    // Every activity ran with the run's fields: the interceptor's line for each, e.g. each step's opening by step.
    const activities = workerLines.filter((l) => l.msg === 'activity completed');
    expect(activities.map((l) => l.activity)).toEqual(['openApprovalStep', 'openApprovalStep', 'createPurchaseOrder', 'closeRun']);
    expect(activities.filter((l) => l.activity === 'openApprovalStep').map((l) => l.step)).toEqual(['line-manager', 'finance-director']);
  });

  /** The API's request lines ("METHOD /path status ms") that carry this run's id, once the one matching `last` is written. */
  const requestLinesOf = (runId: string, last: RegExp) =>
    waitUntil(async () => {
      const lines = jsonLines(apiOutput).filter((l) => l.runId === runId && typeof l.msg === 'string' && /^[A-Z]+ \//.test(l.msg));
      return lines.some((l) => last.test(String(l.msg))) && lines;
    }, `a request line ${last} with runId ${runId}`);
  /** Every API line that mentions the run carries its id and process as fields, so a search by runId finds them all. */
  const expectMentionsCarry = (runId: string, process: string) => {
    const mentioning = jsonLines(apiOutput).filter((line) => JSON.stringify(line).includes(runId));
    expect(mentioning.filter((line) => line.runId !== runId || line.process !== process).map((l) => `${String(l.msg)} ${String(l.runId)} ${String(l.process)}`)).toEqual([]);
  };

  it('finds the request lines of a decision by link and by Slack by the runId, with process and step', async () => {
    const title = `Logged link capex ${randomUUID().slice(0, 8)}`;
    const runId = (await startRun(stack, { process: 'capex', input: capexInput({ title, amount: 25_000 }), settings: quickTiming })).run!.runId;
    // Morgan opens his link (GET) and approves (POST); Priya approves with a click on her Slack message.
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    expect((await submitDecision(link, 'approve')).status).toBe(200);
    const message = await waitUntil(async () => stack.simulators.slack.messagesFor('U0PRIYA').find((m) => m.text.includes(title)), "Priya's Slack message");
    expect((await stack.simulators.slack.click('U0PRIYA', message.ts, SLACK_ACTIONS.approve)).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');

    const lines = await requestLinesOf(runId, /^POST \/integrations\/slack\/interactions 200/);
    const seen = (pattern: RegExp) => lines.filter((l) => pattern.test(String(l.msg))).map((l) => [l.process, l.step]);
    expect(seen(/^GET \/approvals\/\[token\] 200 \d+ms$/)).toEqual([['capex', 'line-manager']]);
    expect(seen(/^POST \/approvals\/\[token\] 200 \d+ms$/)).toEqual([['capex', 'line-manager']]);
    expect(seen(/^POST \/integrations\/slack\/interactions 200 \d+ms$/)).toEqual([['capex', 'finance-director']]);
    expect(lines.every((l) => typeof l.requestId === 'string')).toBe(true);
    expectMentionsCarry(runId, 'capex');
  });

  it('finds the request lines of events by the run they started or were routed to', async () => {
    const po = `PO-LOG-${randomUUID().slice(0, 8)}`;
    // A receipt before its invoice: held for a second, then unmatched...
    const receipt = await sendEvent(stack, erpEvent('goods.received', { poNumber: po, receiptId: 'GR-1', amount: 120 }));
    expect(receipt.body.status).toBe('held');
    await waitUntil(async () => {
      await stack.sweepEvents();
      return (await stack.db.inboundEvent.findUniqueOrThrow({ where: { id: receipt.body.eventId } })).status === 'unmatched';
    }, 'the held receipt to become unmatched');
    // ...the invoice starts the run, and an operator routes the receipt to it.
    const invoice = await sendEvent(stack, erpEvent('invoice.received', { invoiceNumber: `INV-${po}`, poNumber: po, supplier: 'Acme', amount: 120, currency: 'EUR', buyer }));
    expect(invoice.body.status).toBe('started');
    const runId: string = invoice.body.runId;
    await waitUntil(async () => (await stack.db.run.findUnique({ where: { id: runId } }))?.currentStep === 'awaiting-goods-receipt', 'the run to wait for receipts');
    const routed = await postJson(`${stack.apiUrl}/events/${receipt.body.eventId}/route`, {});
    expect(routed.body).toMatchObject({ status: 'applied', runId });
    await waitForRunStatus(stack, runId, 'completed');

    const lines = await requestLinesOf(runId, /\/route 200/);
    const seen = (pattern: RegExp) => lines.filter((l) => pattern.test(String(l.msg))).map((l) => l.process);
    expect(seen(/^POST \/events\/erp 202 \d+ms$/)).toEqual(['invoice-match']);
    expect(seen(new RegExp(`^POST /events/${receipt.body.eventId}/route 200 \\d+ms$`))).toEqual(['invoice-match']);
    expectMentionsCarry(runId, 'invoice-match');
  });

  it('in dev, ten requests are ten lines (method, path, status, ms, request id); LOG_HTTP_HEADERS=1 adds headers, redacted', async () => {
    const output: string[] = [];
    const dev = await stack.startApiProcess({ env: { LOG_FORMAT: 'pretty', LOG_LEVEL: 'info', NODE_ENV: 'development' }, onOutput: (text) => void output.push(text) });
    // One request first: the API connects to Temporal on first use and says so once; that line is no request's.
    await fetch(`${dev.url}/healthz`, { headers: { 'x-request-id': 'warm-up' } });
    await waitUntil(async () => output.join('').includes('warm-up'), 'the warm-up request line', 10_000);
    const ready = output.join('').length;
    const requests: Array<[string, string, unknown?]> = [
      ['GET', '/healthz'],
      ['GET', '/processes'],
      ['GET', '/runs'],
      ['GET', '/runs/capex-nope'],
      ['POST', '/runs', { process: 'capex', input: {} }],
      ['GET', '/openapi.json'],
      ['GET', '/kpis'],
      ['GET', '/events'],
      ['GET', '/nowhere'],
      ['GET', '/processes/capex'],
    ];
    const ids: string[] = [];
    for (const [i, [method, path, body]] of requests.entries()) {
      const id = `dev-line-${i}-${Date.now()}`;
      ids.push(id);
      await fetch(`${dev.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${stack.adminKey}`, 'x-request-id': id, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    }
    await waitUntil(async () => ids.every((id) => output.join('').includes(id)), 'every request line', 10_000);
    const lines = output.join('').slice(ready).split('\n').filter((line) => line.trim() !== '');
    expect(lines, lines.join('\n')).toHaveLength(10);
    for (const [i, line] of lines.entries()) {
      const [method, path] = requests[i]!;
      expect(line).toMatch(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?\\] (INFO|WARN|ERROR) \\(api\\): ${method} ${path.replace(/[.*?]/g, '\\$&')} \\d{3} \\d+ms .*"requestId":"${ids[i]}"`));
      expect(line).not.toContain(stack.adminKey);
    }

    const debugOutput: string[] = [];
    const withHeaders = await stack.startApiProcess({ env: { LOG_HTTP_HEADERS: '1', LOG_LEVEL: 'info' }, onOutput: (text) => void debugOutput.push(text) });
    await fetch(`${withHeaders.url}/runs`, { headers: { authorization: `Bearer ${stack.adminKey}`, 'x-request-id': 'with-headers' } });
    const line = await waitUntil(async () => jsonLines(debugOutput).find((l) => l.requestId === 'with-headers' && typeof l.msg === 'string' && l.msg.startsWith('GET /runs 200')), 'the request line with headers');
    expect(line).toMatchObject({ req: { headers: { authorization: '[redacted]', 'x-request-id': 'with-headers' } }, res: { headers: expect.objectContaining({ 'x-request-id': 'with-headers' }) } });
    expect(JSON.stringify(line)).not.toContain(stack.adminKey.slice('opk_'.length + 13));
  });
});
