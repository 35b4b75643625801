import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath } from '../../dev/ensure-chromium.js';
import { getJson } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const outputDir = new URL('../../test-output/', import.meta.url).pathname;

/** The policy pages of the ops console, driven in real Chromium: read, refuse a bad change, save a good one. */
describe('policies in the ops console', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  const signIn = async (key: string) => {
    await page.goto(`${stack.apiUrl}/ops/login`);
    await page.fill('#key', key);
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Operations dashboard');
  };

  beforeAll(async () => {
    stack = await startStack({ worker: 'none', allowShortDurations: false });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await mkdir(outputDir, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('draws every process’s flow as SVG, with the thresholds of the policy in force', async () => {
    for (const { key } of (await getJson(`${stack.apiUrl}/processes`)).body.items as Array<{ key: string }>) {
      const svg = await fetch(`${stack.apiUrl}/processes/${key}/diagram.svg`);
      expect(svg.headers.get('content-type'), key).toContain('image/svg+xml');
      await page.setContent(`<!doctype html><body style="margin:0">${await svg.text()}</body>`);
      await page.locator('svg').screenshot({ path: `${outputDir}diagram-${key}.png` });
    }
    const capex = await (await fetch(`${stack.apiUrl}/processes/capex/diagram.svg`)).text();
    expect(capex).toContain('Only when: amount ≥ 100,000.00 (policy)');
    expect(capex).not.toMatch(/<script/i);
    const { body } = await getJson(`${stack.apiUrl}/processes/capex`);
    expect(body.diagram).toMatchObject({ process: 'capex', policyVersion: 1 });
    expect(body.diagram.nodes.map((n: { id: string }) => n.id)).toEqual(['line-manager', 'finance-director', 'cfo', 'purchase-order', 'end']);
  });

  it('shows a reader the policy in force, readably, without an editor', async () => {
    await signIn(await stack.createKey('alex.rivera@example.com', ['runs:read']));
    await page.goto(`${stack.apiUrl}/ops/policies`);
    expect(await page.locator('table.data tbody').innerText()).toMatch(/Capex sign-off\s+1\s+.*opsflow\s+built-in default/);
    await page.click('text=Capex sign-off');
    expect(await page.locator('h1').innerText()).toBe('Capex sign-off: version 1 (in force)');
    const readable = await page.locator('main').innerText();
    expect(readable).toMatch(/Finance director from\s+10000/);
    expect(readable).toMatch(/One person one step\s+true/);
    // In the schema's order (PostgreSQL's jsonb keeps keys in its own order).
    expect(readable.indexOf('Thresholds')).toBeLessThan(readable.indexOf('Approval'));
    expect(readable.indexOf('line-manager')).toBeLessThan(readable.indexOf('cfo'));
    expect(await page.locator('#policy-json').count()).toBe(0);
  });

  it('lets policies:write change it: a bad change is refused naming the field, a good one becomes version 2', async () => {
    await signIn(await stack.createKey('dana.whitfield@example.com', ['runs:read', 'policies:write']));
    await page.goto(`${stack.apiUrl}/ops/processes/capex/policy`);
    const original = JSON.parse(await page.inputValue('#policy-json'));

    const tooFast = structuredClone(original);
    tooFast.approval.reminderAfter = '1m';
    tooFast.steps.cfo.approvers = ['role:nobody-has-this'];
    await page.fill('#policy-json', JSON.stringify(tooFast, null, 2));
    await page.fill('#policy-reason', 'Speed things up');
    await page.click('button:has-text("Save as version 2")');
    const errors = await page.locator('#policy-errors').innerText();
    expect(errors).toContain('policy.approval.reminderAfter: must be at least 1h');
    expect(errors).toContain('policy.steps.cfo.approvers.0: unknown role "nobody-has-this": nobody in the directory holds it');
    await page.screenshot({ path: `${outputDir}policy-refused.png`, fullPage: true });
    // What was typed is kept, so the admin fixes it rather than starting again.
    expect(JSON.parse(await page.inputValue('#policy-json')).approval.reminderAfter).toBe('1m');

    const better = structuredClone(original);
    better.thresholds.cfoFrom = 50_000;
    await page.fill('#policy-json', JSON.stringify(better, null, 2));
    await page.fill('#policy-reason', 'Board decision: the CFO signs from 50,000');
    await page.click('button:has-text("Save as version 2")');
    await expect.poll(() => page.locator('h1').innerText()).toBe('Capex sign-off: version 2 (in force)');
    expect(await page.locator('main').innerText()).toContain('Saved as version 2');
    await page.screenshot({ path: `${outputDir}policy-saved.png`, fullPage: true });

    expect(await (await fetch(`${stack.apiUrl}/processes/capex/diagram.svg`)).text()).toContain('Only when: amount ≥ 50,000.00 (policy)');
    const { body } = await getJson(`${stack.apiUrl}/processes/capex/policy`);
    expect(body).toMatchObject({ version: 2, createdBy: 'dana.whitfield@example.com', reason: 'Board decision: the CFO signs from 50,000', policy: { thresholds: { cfoFrom: 50_000 } } });
    await page.click('a:has-text("1")');
    expect(await page.locator('h1').innerText()).toBe('Capex sign-off: version 1 (superseded)');
  });
});
