import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { chromiumPath } from '../../dev/ensure-chromium.js';
import type { Stack } from './stack.js';

/** Where the phone screenshots go (test-output/, beside the repository's sources). */
export const screenshotDir = new URL('../../test-output/', import.meta.url).pathname;

/** Headless Chromium for the person's pages, with the screenshot folder made. */
export async function launchChromium(): Promise<Browser> {
  await mkdir(screenshotDir, { recursive: true });
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run'] });
}

/**
 * My approvals (/me) as a person's browser uses it: forms posted from Opsflow's own origin with the session cookie,
 * a sign-in link asked for and taken from the mail, the inbox page read for its items and CSRF token.
 */
export function personInbox(stack: Stack, options: { onSignInLink?: (link: string) => void } = {}) {
  const postForm = (path: string, fields: Record<string, string | string[]>, cookie?: string, origin = stack.apiUrl) => {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const v of ([] as string[]).concat(value)) body.append(name, v);
    return fetch(`${stack.apiUrl}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin, ...(cookie ? { cookie } : {}) },
      body,
    });
  };

  /** Asks for a sign-in link for `email` and returns the one the mail brings. */
  const signInLinkFor = async (email: string) => {
    const earlier = new Set(stack.mail.messages().map((m) => m.id));
    expect((await postForm('/me', { email })).status).toBe(200);
    const mail = await stack.mail.waitFor((m) => !earlier.has(m.id) && m.to.includes(email) && m.subject === 'Your sign-in link to My approvals');
    const link = /https?:\/\/\S+\/me\/sign-in\/[A-Za-z0-9_-]{43}/.exec(mail.text)?.[0];
    if (!link) throw new Error(`no sign-in link in:\n${mail.text}`);
    options.onSignInLink?.(link);
    return link;
  };

  /** Signs in through a mailed link and returns the session cookie. */
  const signIn = async (email: string) => {
    const link = await signInLinkFor(email);
    const used = await postForm(new URL(link).pathname, {});
    expect(used.status).toBe(303);
    const cookie = /opsflow_me=[^;]+/.exec(used.headers.get('set-cookie') ?? '')?.[0];
    if (!cookie) throw new Error('no session cookie');
    return cookie;
  };

  /** The inbox page: its open approval items (`requestId|version`) and the session's CSRF token. */
  const inbox = async (cookie: string) => {
    const page = await (await fetch(`${stack.apiUrl}/me/approvals`, { headers: { cookie } })).text();
    const items = [...page.matchAll(/name="item" value="([^"]+)"/g)].map((m) => m[1]!.replace(/&#124;|&vert;/g, '|'));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    return { page, items, csrf };
  };

  return { postForm, signInLinkFor, signIn, inbox };
}

/**
 * A browser without JavaScript signed in to My approvals through a mailed sign-in link: a phone (390 px wide, as
 * the screenshots are taken) or a desktop.
 */
export async function signedInBrowser(browser: Browser, link: string, device: 'phone' | 'desktop' = 'phone') {
  const phone = device === 'phone';
  const context = await browser.newContext({
    viewport: phone ? { width: 390, height: 844 } : { width: 1280, height: 900 },
    javaScriptEnabled: false,
    ...(phone ? { isMobile: true, deviceScaleFactor: 2 } : {}),
  });
  const page = await context.newPage();
  await page.goto(link);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.locator('h1').textContent()).toBe('My approvals');
  return { context, page };
}

/** How far the page scrolls sideways (0: it fits its viewport). */
export function sidewaysOverflow(page: Page): Promise<unknown> {
  return page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}
