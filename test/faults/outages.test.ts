import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapturedMail } from '../../dev/mail-sink.js';
import { capexInput } from '../support/fixtures.js';
import { startFaultStack, type FaultStack, type Piece } from '../support/fault-stack.js';
import { approvalLinkIn, versionOnPage, waitUntil } from '../support/http.js';

/**
 * The fault suite (README, Reliability): Temporal, PostgreSQL, the SMTP listener, the worker and the API run as
 * separate processes and are killed and restarted, one after another, while clients start capex runs and approvers
 * decide over HTTP, retrying on 503 and on no answer as real clients do. Asserted: no run lost, one purchase order
 * per approved run, each approval mail once (or, after a worker kill, a copy with the same Message-ID: the
 * documented exception), clients see only 200/201/202/503 (a retried decision may find its own decision: 409), and
 * the API serves again within RECOVERY_BOUND_MS of the piece coming back.
 */
const RECOVERY_BOUND_MS = 30_000;
const CLIENT_DEADLINE_MS = 120_000;
const STARTS_PER_OUTAGE = 4;
const ALLOWED_ANSWERS = new Set([200, 201, 202, 503]);

type Answer = { operation: string; status: number | 'no answer'; retry: boolean; at: number };

let stack: FaultStack;
const answers: Answer[] = [];
/** Idempotency-Key → run id, once the API accepted the start. */
const runs = new Map<string, string>();
const decided = new Set<string>();
const deciding = new Set<string>();
/** Runs the decider leaves alone for now (their link is checked while Temporal is down). */
const heldBack = new Set<string>();
let workerKills = 0;
/**
 * When the documented duplicate-mail exception can happen (README, Reliability): a worker killed right after an
 * SMTP hand-off, or the database down past the attempt that handed a mail off. A copy is allowed only for a mail
 * first delivered inside one of these windows.
 */
const copyWindows: Array<{ from: number; to: number; why: string }> = [];
let stopDeciding = false;

/**
 * One HTTP exchange as a well-behaved client does it: retries on 503/429 (after Retry-After, capped at 1 s to keep
 * CI short) and when no answer comes (the API was killed), until the deadline; every answer is recorded.
 */
async function exchange(operation: string, send: () => Promise<Response>, { resubmission = false } = {}): Promise<Response> {
  const deadline = Date.now() + CLIENT_DEADLINE_MS;
  for (let attempt = resubmission ? 1 : 0; ; attempt++) {
    if (Date.now() > deadline) throw new Error(`${operation}: no success within ${CLIENT_DEADLINE_MS} ms`);
    let response: Response;
    try {
      response = await send();
    } catch {
      answers.push({ operation, status: 'no answer', retry: attempt > 0, at: Date.now() });
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    answers.push({ operation, status: response.status, retry: attempt > 0, at: Date.now() });
    if (response.status !== 503 && response.status !== 429) return response;
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await response.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, Number(response.headers.get('retry-after')) * 1000)));
  }
}

const auth = () => ({ authorization: `Bearer ${stack.adminKey}` });

async function startRun(key: string): Promise<string> {
  const response = await exchange('start', () =>
    fetch(`${stack.apiUrl}/runs`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ process: 'capex', input: capexInput({ title: `Fault run ${key}`, amount: 2_000 }) }),
    }),
  );
  const body = (await response.json()) as { runId: string };
  expect([200, 201], `start ${key}: ${JSON.stringify(body)}`).toContain(response.status);
  runs.set(key, body.runId);
  return body.runId;
}

function startRuns(prefix: string, count = STARTS_PER_OUTAGE): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startRun(`${prefix}-${i}`)));
}

function approvalMailOf(runId: string, mails = stack.mails()): CapturedMail | undefined {
  return mails.find((m) => m.headers['x-opsflow-run'] === runId && /Approval needed/.test(m.subject));
}

/** Opens the link and approves, as a browser would; a repeat after an unanswered attempt may find it decided (409). */
async function approve(runId: string, link: string): Promise<void> {
  // After a 202 (sent, not confirmed) the approver submits again: that is a retry, and may find its own decision (409).
  for (let resubmission = false; ; resubmission = true) {
    const page = await exchange('link page', () => fetch(link), { resubmission });
    const html = await page.text();
    if (page.status === 409 && /already/i.test(html)) return;
    expect(page.status, html.slice(0, 500)).toBe(200);
    const version = versionOnPage(html);
    const result = await exchange(
      'decide',
      () => fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ decision: 'approve', version }).toString() }),
      { resubmission },
    );
    const text = await result.text();
    if (result.status === 200 || result.status === 409) return;
    // 202: sent, not confirmed yet; submitting again is safe (same Update id).
    expect(result.status, text.slice(0, 500)).toBe(202);
  }
}

/** The approvers: decide every run whose approval mail has arrived, as long as the test runs. */
async function decideAsMailArrives(): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  while (!stopDeciding) {
    const mails = stack.mails();
    for (const runId of runs.values()) {
      if (decided.has(runId) || deciding.has(runId) || heldBack.has(runId)) continue;
      const mail = approvalMailOf(runId, mails);
      if (!mail) continue;
      deciding.add(runId);
      const task = approve(runId, approvalLinkIn(mail)).then(() => {
        decided.add(runId);
        deciding.delete(runId);
      });
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await Promise.all(inFlight);
}

/** How long until the API starts a run again after `piece` came back. */
async function recoveryAfter(piece: Piece, probeKey: string): Promise<number> {
  const back = Date.now();
  await startRun(probeKey);
  const took = Date.now() - back;
  expect(took, `${piece.name}: recovery took ${took} ms`).toBeLessThan(RECOVERY_BOUND_MS);
  return took;
}

/** Answers clients got since `since` for an operation: the outage was seen by them. */
const failuresSince = (since: number) => answers.filter((a) => a.at >= since && (a.status === 503 || a.status === 'no answer')).length;

const recoveries: Record<string, number> = {};

describe('the fault suite: pieces killed and restarted while runs start and decide', () => {
  let decider: Promise<void>;
  beforeAll(async () => {
    stack = await startFaultStack();
    decider = decideAsMailArrives();
  });
  afterAll(async () => {
    stopDeciding = true;
    await decider?.catch(() => {});
    await stack?.stop();
  }, 180_000);

  it('Temporal killed: starts get 503 (the run stays not_started and out of lists), the API and worker start without it and recover', async () => {
    // A run with an open link, to check the link page while Temporal is down.
    const linkRunKey = 'before-temporal';
    const linkRun = await startRun(linkRunKey);
    heldBack.add(linkRun);
    const linkMail = await waitUntil(async () => approvalMailOf(linkRun), 'the approval mail before the Temporal outage', 30_000);

    const killedAt = Date.now();
    await stack.pieces.temporal.kill();

    // A client that does not retry: 503, and its run is not visible anywhere.
    const unretried = await fetch(`${stack.apiUrl}/runs`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': 'not-started-probe' },
      body: JSON.stringify({ process: 'capex', input: capexInput({ title: 'Fault run not-started-probe', amount: 2_000 }) }),
    });
    expect(unretried.status).toBe(503);
    expect(unretried.headers.get('retry-after')).toBeTruthy();
    expect(((await unretried.json()) as { error: { code: string; details: { dependency: string } } }).error).toMatchObject({ code: 'unavailable', details: { dependency: 'workflow engine' } });
    const probe = await stack.db().idempotencyKey.findUniqueOrThrow({ where: { key: 'not-started-probe' } });
    expect((await stack.db().run.findUniqueOrThrow({ where: { id: probe.runId } })).status).toBe('not_started');
    const listed = (await (await fetch(`${stack.apiUrl}/runs?limit=100`, { headers: auth() })).json()) as { items: Array<{ runId?: string; id?: string }> };
    expect(listed.items.map((r) => r.runId ?? r.id)).not.toContain(probe.runId);
    const kpis = (await (await fetch(`${stack.apiUrl}/kpis`, { headers: auth() })).json()) as { runs: { started: number } };
    expect(kpis.runs.started).toBe(await stack.db().run.count({ where: { status: { not: 'not_started' } } }));

    // Start order: the API and the worker start while Temporal is down.
    await stack.pieces.api.kill();
    await stack.pieces.api.start();
    const health = await fetch(`${stack.apiUrl}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'degraded', checks: { database: { ok: true }, temporal: { ok: false } } });
    expect((await fetch(`${stack.apiUrl}/runs/${linkRun}`, { headers: auth() })).status).toBe(200);
    const page = await fetch(approvalLinkIn(linkMail));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Fault run before-temporal');
    await stack.pieces.worker.kill();
    await stack.pieces.worker.start({ waitUntilReady: false });
    await waitUntil(async () => /Temporal not reachable; the worker tries again/.test(stack.output('worker')), 'the worker to wait for Temporal', 30_000);
    expect(stack.pieces.worker.running, 'the worker process keeps running without Temporal').toBe(true);

    // Clients keep starting runs; they see 503 until Temporal is back.
    const starts = startRuns('temporal');
    await waitUntil(async () => failuresSince(killedAt) >= STARTS_PER_OUTAGE, 'clients to see the outage', 30_000);
    await stack.pieces.temporal.start();
    await waitUntil(async () => /worker started/.test(stack.output('worker')), 'the worker to connect once Temporal is back', RECOVERY_BOUND_MS);
    recoveries.temporal = await recoveryAfter(stack.pieces.temporal, 'after-temporal');
    await starts;

    // The client's retry with the same key starts that very run.
    const retried = await startRun('not-started-probe');
    expect(retried).toBe(probe.runId);
    heldBack.delete(linkRun);
  }, 180_000);

  it('PostgreSQL killed (immediate shutdown): every route answers 503, links get an HTML 503 page, and it recovers', async () => {
    const pending = [...runs.values()].find((runId) => !decided.has(runId) && approvalMailOf(runId));
    const killedAt = Date.now();
    await stack.pieces.postgres.kill();
    const starts = startRuns('postgres');
    await waitUntil(async () => failuresSince(killedAt) >= STARTS_PER_OUTAGE, 'clients to see the database outage', 30_000);
    const list = await fetch(`${stack.apiUrl}/runs`, { headers: auth() });
    expect(list.status).toBe(503);
    expect(list.headers.get('retry-after')).toBeTruthy();
    expect(((await list.json()) as { error: { details: { dependency: string } } }).error.details.dependency).toBe('database');
    if (pending) {
      const page = await fetch(approvalLinkIn(approvalMailOf(pending)!));
      expect([503, 409]).toContain(page.status);
      if (page.status === 503) expect(page.headers.get('content-type')).toMatch(/text\/html/);
    }
    copyWindows.push({ from: killedAt - 30_000, to: Date.now(), why: 'PostgreSQL down' });
    await stack.pieces.postgres.start();
    recoveries.postgres = await recoveryAfter(stack.pieces.postgres, 'after-postgres');
    await starts;
  }, 180_000);

  it('the SMTP listener killed: runs start, mail waits and is delivered once it is back', async () => {
    await stack.pieces.smtp.kill();
    const started = await startRuns('smtp');
    await stack.pieces.smtp.start();
    recoveries.smtp = await recoveryAfter(stack.pieces.smtp, 'after-smtp');
    await waitUntil(async () => started.every((runId) => approvalMailOf(runId)), 'the approval mails held back by the SMTP outage', 60_000);
  }, 180_000);

  it('the worker SIGKILLed twice while runs are in flight', async () => {
    const starts = startRuns('worker');
    for (let kill = 0; kill < 2; kill++) {
      await waitUntil(async () => runs.size > 0 && stack.pieces.worker.running, 'a running worker', 10_000);
      copyWindows.push({ from: Date.now() - 30_000, to: Date.now(), why: 'worker killed' });
      await stack.pieces.worker.kill();
      workerKills++;
      await stack.pieces.worker.start();
    }
    recoveries.worker = await recoveryAfter(stack.pieces.worker, 'after-worker');
    await starts;
  }, 180_000);

  it('the API SIGKILLed while decisions and starts are in flight', async () => {
    // One decision is surely in flight at the kill: its POST is sent, unanswered, when the API dies.
    const held = await startRun('api-decision');
    heldBack.add(held);
    // 60 s: this run starts right after the worker was killed and restarted, while the restarted worker replays the runs
    // it lost; under the full suite's load its first mail once took longer than 30 s. What this case holds is the
    // decision's outcome, not the mail's latency.
    const link = approvalLinkIn(await waitUntil(async () => approvalMailOf(held), 'the approval mail of the decision to cut off', 60_000));
    const version = versionOnPage(await (await fetch(link)).text());
    const starts = startRuns('api');
    const killedAt = Date.now();
    const cutOff = exchange('decide', () =>
      fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ decision: 'approve', version }).toString() }),
    );
    await waitUntil(async () => answers.some((a) => a.at >= killedAt - 5_000 && a.operation === 'start'), 'starts in flight', 10_000);
    await stack.pieces.api.kill();
    await waitUntil(async () => failuresSince(killedAt) > 0, 'clients to see the API gone', 30_000);
    await stack.pieces.api.start();
    recoveries.api = await recoveryAfter(stack.pieces.api, 'after-api');
    await starts;
    // The client's retry lands on the one decision, whichever attempt made it: 200, or 409 when the cut-off attempt
    // had made it; 202 (sent, not confirmed) is settled by submitting again, as the page offers.
    const answer = await cutOff;
    expect([200, 202, 409]).toContain(answer.status);
    if (answer.status === 202) await approve(held, link);
    decided.add(held);
    heldBack.delete(held);
    const decisions = await waitUntil(
      async () => {
        const entries = await stack.db().auditEntry.count({ where: { runId: held, action: 'approval.decided' } });
        return entries > 0 ? entries : undefined;
      },
      'the cut-off decision in the audit',
      30_000,
    );
    expect(decisions).toBe(1);
  }, 180_000);

  it('afterwards: no run lost, one purchase order per approved run, each approval mail once, only allowed answers', async () => {
    const runIds = [...runs.values()];
    await waitUntil(
      async () => {
        const open = await stack.db().run.findMany({ where: { id: { in: runIds }, status: { not: 'completed' } }, select: { id: true, status: true } });
        return open.length === 0 ? true : undefined;
      },
      `all ${runIds.length} runs to complete`,
      120_000,
    );
    expect(await stack.db().run.count({ where: { status: 'not_started' } })).toBe(0);
    const temporal = await stack.temporal();
    // The read model says completed a moment before the workflow has sent its last notice and closed.
    await waitUntil(
      async () => {
        const states = await Promise.all(runIds.map(async (runId) => (await temporal.workflow.getHandle(runId).describe()).status.name));
        return states.every((state) => state === 'COMPLETED');
      },
      'every workflow to close as completed',
      30_000,
    );

    const orders = stack.simulators.erp.purchaseOrders();
    for (const runId of runIds) expect(orders.filter((order) => order.reference.includes(runId)), `purchase orders of ${runId}`).toHaveLength(1);

    // Each approval request mailed once; a copy only after a worker kill, and then with the same Message-ID.
    const approvalMails = stack.mails().filter((m) => /Approval needed/.test(m.subject) && runIds.includes(m.headers['x-opsflow-run'] ?? ''));
    const byRun = new Map<string, CapturedMail[]>();
    for (const mail of approvalMails) byRun.set(mail.headers['x-opsflow-run']!, [...(byRun.get(mail.headers['x-opsflow-run']!) ?? []), mail]);
    expect(byRun.size).toBe(runIds.length);
    let copies = 0;
    for (const [runId, mails] of byRun) {
      expect(new Set(mails.map((m) => m.messageId)).size, `Message-IDs of ${runId}'s approval mail`).toBe(1);
      if (mails.length === 1) continue;
      copies += mails.length - 1;
      // A copy only of a mail handed off just before a worker kill or while the database was going down: the attempt
      // that handed it off could not record it (at most one attempt's start-to-close, 30 s, before).
      // Each window can cost a mail at most one copy: the attempt it interrupted, retried once.
      const first = Math.min(...mails.map((m) => m.receivedAt.getTime()));
      const windows = copyWindows.filter((w) => first >= w.from && first <= w.to);
      expect(mails.length - 1, `${runId}'s approval mail was sent ${mails.length} times, first at ${new Date(first).toISOString()}, in windows ${JSON.stringify(windows)} of ${JSON.stringify(copyWindows)}`).toBeLessThanOrEqual(windows.length);
    }

    const unexpected = answers.filter((a) => a.status !== 'no answer' && !ALLOWED_ANSWERS.has(a.status) && !(a.status === 409 && a.retry && a.operation !== 'start'));
    expect(unexpected).toEqual([]);
    expect(answers.some((a) => a.status === 500)).toBe(false);
    console.log(`fault suite: ${runIds.length} runs, ${answers.length} answers, recovery (ms) ${JSON.stringify(recoveries)}, approval mail copies ${copies}`);
  });
});
