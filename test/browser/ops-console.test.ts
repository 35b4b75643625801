import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath } from '../../dev/ensure-chromium.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const outputDir = new URL('../../test-output/', import.meta.url).pathname;

describe('the ops console in real Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    stack = await startStack();
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await mkdir(outputDir, { recursive: true });
    // Some history for the dashboard: one approved, one rejected.
    for (const [title, decision] of [['Console approved', 'approve'], ['Console rejected', 'reject']] as const) {
      const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings: quickTiming });
      const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
      await submitDecision(link, decision, decision === 'reject' ? 'Over budget' : '');
      await waitForRunStatus(stack, body.runId, decision === 'approve' ? 'completed' : 'rejected');
    }
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('signs in with a key, and sends strangers to the sign-in page', async () => {
    await page.goto(`${stack.apiUrl}/ops`);
    expect(page.url()).toContain('/ops/login');
    await page.fill('#key', 'opk_wrongwrongwr_' + 'x'.repeat(43));
    await page.click('button[type=submit]');
    expect(await page.textContent('body')).toContain('not valid');
    await page.fill('#key', stack.adminKey);
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Operations dashboard');
  });

  it('shows the dashboard with figures and charts', async () => {
    await page.goto(`${stack.apiUrl}/ops?process=capex`);
    const stats = await page.locator('.stats').innerText();
    expect(stats).toMatch(/2\s*started/);
    expect(stats).toMatch(/1\s*completed/);
    expect(stats).toMatch(/1\s*rejected/);
    expect(await page.locator('figure.chart svg').count()).toBe(4);
    expect(await page.locator('svg[aria-label="Throughput per week"] rect').count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${outputDir}ops-dashboard.png`, fullPage: true });
  });

  it('starts a run from the generated form, refusing bad input with field errors', async () => {
    await page.goto(`${stack.apiUrl}/ops/start/capex`);
    await page.screenshot({ path: `${outputDir}ops-start-form.png`, fullPage: true });
    await page.fill('[name="title"]', 'Started from the console');
    await page.fill('[name="amount"]', '12.345');
    await page.fill('[name="currency"]', 'EUR');
    await page.fill('[name="costCenter"]', 'OPS-100');
    await page.selectOption('[name="category"]', 'it-hardware');
    await page.fill('[name="vendor"]', 'Dell');
    await page.fill('[name="justification"]', 'Laptops for the new shift leads.');
    await page.click('button:has-text("Start")');
    expect(await page.locator('#field-amount-error').textContent()).toContain('2 decimals');
    expect(await page.inputValue('[name="vendor"]')).toBe('Dell');
    await page.fill('[name="amount"]', '2400');
    await page.click('button:has-text("Start")');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Started from the console');
    expect(page.url()).toMatch(/\/ops\/runs\/capex-/);
    const text = await page.locator('main').innerText();
    expect(text).toContain('running');
    expect(text).toContain('requested by Ops Desk');
    await expect.poll(async () => page.reload().then(() => page.locator('main').innerText())).toMatch(/Line manager approval\s+Dana Whitfield\s+pending/);
    await page.screenshot({ path: `${outputDir}ops-run-detail.png`, fullPage: true });
  });

  it('finds runs in the explorer by search and status', async () => {
    await page.goto(`${stack.apiUrl}/ops/runs?q=console%20rej`);
    const rows = page.locator('table.data tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain('Console rejected');
    await page.goto(`${stack.apiUrl}/ops/runs?status=running`);
    expect(await page.locator('table.data tbody').innerText()).toContain('Started from the console');
    await page.screenshot({ path: `${outputDir}ops-runs.png`, fullPage: true });
    await page.click('text=Started from the console');
    await page.fill('#cancel-reason', 'Started by mistake');
    await page.click('button:has-text("Cancel this run")');
    await expect.poll(() => page.reload().then(() => page.locator('main').innerText()), { timeout: 15_000 }).toContain('cancelled');
  });
});
