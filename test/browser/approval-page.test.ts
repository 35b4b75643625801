import { mkdir } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath } from '../../dev/ensure-chromium.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const outputDir = new URL('../../test-output/', import.meta.url).pathname;

describe('an approver on a phone, in real Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    stack = await startStack();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    await mkdir(outputDir, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('opens the e-mailed link, reads the request and history, approves, without JavaScript', async () => {
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Phone approval', amount: 18_250 }), settings: quickTiming });
    const runId: string = body.runId;
    const first = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Phone approval/ });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, javaScriptEnabled: false });
    const page = await context.newPage();

    await page.goto(first.link);
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toContain('you approved');

    const second = await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Phone approval/ });
    await page.goto(second.link);
    await expect.poll(() => page.locator('h1').textContent()).toContain('Finance director approval');
    const text = await page.locator('main, body').first().innerText();
    expect(text).toContain('18,250.00 EUR');
    expect(text).toContain('DMG Mori');
    expect(text).toMatch(/Approved\s+Line manager approval/);
    expect(text).toContain('Morgan Lee');
    // Nothing overflows sideways on a 390 px screen.
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBe(0);
    await page.screenshot({ path: `${outputDir}approval-page-390px.png`, fullPage: true });

    await page.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toContain('you approved');
    await page.screenshot({ path: `${outputDir}approval-result-390px.png` });
    await waitForRunStatus(stack, runId, 'completed');
    const run = await getJson(`${stack.apiUrl}/runs/${runId}`);
    expect(run.body.approvals.map((a: { state: string }) => a.state)).toEqual(['approved', 'approved']);
    await context.close();
  });
});
