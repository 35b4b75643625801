import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp, type AppOptions } from '../../api/app.js';
import type { Config } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import type { Stack } from './stack.js';

export interface PageResponse {
  status: number;
  location: string | null;
  setCookies: string[];
  html: string;
}

/**
 * A cookie jar over fetch that behaves like a browser on the console's own pages: it keeps cookies, sends the
 * headers a browser sends on a same-origin form post (Origin: null because of no-referrer, Sec-Fetch-Site), and
 * reads the CSRF token out of the last page. Each call may override headers to play another site.
 */
export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  lastCsrfToken: string | undefined;

  constructor(readonly baseUrl: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<PageResponse> {
    return this.#send(path, { method: 'GET', headers: { cookie: this.cookieHeader(), 'sec-fetch-site': 'same-origin', ...headers } });
  }

  /** A form post; `_csrf` is the last page's token unless the form names its own (or `null` for none). */
  async post(path: string, form: Record<string, string | null>, headers: Record<string, string> = {}): Promise<PageResponse> {
    const fields = Object.fromEntries(Object.entries({ _csrf: this.lastCsrfToken ?? null, ...form }).filter((entry): entry is [string, string] => entry[1] !== null));
    return this.#send(path, {
      method: 'POST',
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', origin: 'null', 'sec-fetch-site': 'same-origin', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** GET /ops/login, then post the key from the same origin, as the sign-in page does. */
  async signIn(key: string): Promise<PageResponse> {
    await this.get('/ops/login');
    return this.post('/ops/login', { key });
  }

  async #send(path: string, init: RequestInit): Promise<PageResponse> {
    const response = await fetch(`${this.baseUrl}${path}`, { ...init, redirect: 'manual' });
    const setCookies = response.headers.getSetCookie();
    for (const header of setCookies) {
      const [pair, ...attributes] = header.split(';').map((part) => part.trim());
      const at = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, at), pair!.slice(at + 1)];
      const expired = attributes.some((a) => /^expires=thu, 01 jan 1970/i.test(a) || /^max-age=0$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const html = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token) this.lastCsrfToken = token;
    return { status: response.status, location: response.headers.get('location'), setCookies, html };
  }
}

/** A second API on the same database and Temporal, with other settings (TRUST_PROXY, PUBLIC_BASE_URL, limits). */
export async function startExtraApi(stack: Stack, config: Partial<Config>, options: AppOptions = {}): Promise<{ url: string; close(): Promise<void> }> {
  const app = createApp({ db: stack.db, temporal: stack.temporal, config: { ...stack.config, ...config }, logger: createLogger('extra-api', 'silent') }, options);
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const cellText = (markup: string) => markup.replace(/<[^>]+>/g, '').replace(/&(amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity]!).trim();

/** The body rows of a page's table (found by its id), each as its cells' text keyed by the column heading. */
export function tableRows(html: string, id: string): Array<Record<string, string>> {
  const table = new RegExp(`<table[^>]* id="${id}"[^>]*>([\\s\\S]*?)</table>`).exec(html)?.[1];
  if (table === undefined) throw new Error(`The page has no table #${id}`);
  const headings = [...table.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map(([, heading]) => cellText(heading!));
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map(([, row]) =>
    Object.fromEntries([...row!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map(([, cell], i) => [headings[i] ?? String(i), cellText(cell!)])),
  );
}

/** The Approvals table of a run's console page (/ops/runs/:id), as an operator signed in with the admin key sees it. */
export async function approvalsOnRunPage(stack: Pick<Stack, 'apiUrl' | 'adminKey'>, runId: string): Promise<Array<Record<string, string>>> {
  const browser = new ConsoleClient(stack.apiUrl);
  const signedIn = await browser.signIn(stack.adminKey);
  if (signedIn.status !== 303) throw new Error(`Console sign-in answered ${signedIn.status}`);
  const page = await browser.get(`/ops/runs/${encodeURIComponent(runId)}`);
  if (page.status !== 200) throw new Error(`/ops/runs/${runId} answered ${page.status}`);
  return tableRows(page.html, 'approvals');
}
