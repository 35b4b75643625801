import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { escapeHtml, html, layout, raw } from '../api/pages/html.js';
import { listenOnPreferredPort, listenServer } from '../lib/listen.js';

export interface CapturedMail {
  id: string;
  receivedAt: Date;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string | null;
  messageId: string | null;
  headers: Record<string, string>;
}

export interface MailSink {
  smtpPort: number;
  httpPort: number;
  smtpUrl: string;
  webUrl: string;
  messages(): CapturedMail[];
  /** SMTP connections accepted so far (a pooled sender reuses one for many mails). */
  connections(): number;
  waitFor(predicate: (m: CapturedMail) => boolean, opts?: { timeoutMs?: number }): Promise<CapturedMail>;
  clear(): void;
  close(): Promise<void>;
}

const MAX_MESSAGES = 500;

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase())).filter(Boolean);
}

function linkify(text: string): string {
  return text
    .split(/(https?:\/\/[^\s<>"]+)/g)
    .map((part, i) => (i % 2 === 1 ? `<a href="${escapeHtml(part)}">${escapeHtml(part)}</a>` : escapeHtml(part)))
    .join('');
}

function webApp(sink: { list: () => CapturedMail[]; clear: () => void }) {
  const app = express();
  app.get('/', (_req, res) => {
    const rows = [...sink.list()].reverse().map(
      (m) => html`<tr><td>${m.receivedAt.toISOString().replace('T', ' ').slice(0, 19)}</td><td>${m.to.join(', ')}</td>
        <td><a href="/messages/${m.id}">${m.subject || '(no subject)'}</a></td></tr>`,
    );
    const body = html`<h1>Dev mail</h1><p class="muted">Opsflow dev mail: nothing here leaves this machine. Newest first; reload for new mail.</p>
      ${rows.length ? html`<table><thead><tr><th>Received (UTC)</th><th>To</th><th>Subject</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p>No mail yet.</p>`}`;
    res.type('html').send(layout({ title: 'Dev mail', body }));
  });
  app.get('/messages/:id', (req, res) => {
    const mail = sink.list().find((m) => m.id === req.params.id);
    if (!mail) return void res.status(404).type('html').send(layout({ title: 'Not found', body: html`<p>No such message. <a href="/">All mail</a></p>`, status: 404 }));
    const body = html`<p><a href="/">← All mail</a></p><h1>${mail.subject}</h1>
      <dl class="details"><div><dt>From</dt><dd>${mail.from}</dd></div><div><dt>To</dt><dd>${mail.to.join(', ')}</dd></div>
      <div><dt>Received</dt><dd>${mail.receivedAt.toISOString()}</dd></div></dl>
      ${mail.html ? html`<iframe sandbox="allow-popups allow-top-navigation-by-user-activation" style="width:100%;height:480px;border:1px solid #ccc" srcdoc="${mail.html}"></iframe>` : ''}
      <h2>Text</h2><pre style="white-space:pre-wrap">${raw(linkify(mail.text))}</pre>`;
    res.type('html').send(layout({ title: mail.subject, body }));
  });
  app.get('/api/messages', (_req, res) => {
    res.json({ items: sink.list() });
  });
  app.delete('/api/messages', (_req, res) => {
    sink.clear();
    res.status(204).end();
  });
  return app;
}

function loadStored(file: string | undefined): CapturedMail[] {
  if (!file || !existsSync(file)) return [];
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Array<CapturedMail & { receivedAt: string }>;
    return stored.map((m) => ({ ...m, receivedAt: new Date(m.receivedAt) }));
  } catch {
    return []; // a damaged store only loses the dev mail list, never the engine's state
  }
}

/** Write then rename: a stop in the middle never leaves a half-written file. */
async function writeAtomically(file: string, content: string): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}

/**
 * A local SMTP listener that keeps mail in memory (and in `storeFile`, so links mailed before a restart of
 * `npm run dev` can still be clicked), with a web page listing them. Port 0 = any free port.
 */
export async function startMailSink(
  opts: {
    smtpPort?: number;
    httpPort?: number;
    host?: string;
    web?: boolean;
    storeFile?: string;
    /** Fail when a port is taken instead of taking any free one (a restart that must keep its port). */
    strictPorts?: boolean;
  } = {},
): Promise<MailSink> {
  const host = opts.host ?? '127.0.0.1';
  const captured: CapturedMail[] = loadStored(opts.storeFile);
  let saving = Promise.resolve();
  const save = () => {
    if (!opts.storeFile) return saving;
    const file = opts.storeFile;
    saving = saving.then(() => writeAtomically(file, JSON.stringify(captured))).catch(() => {});
    return saving;
  };
  const waiters = new Set<(m: CapturedMail) => void>();

  let connections = 0;
  const smtp = new SMTPServer({
    // Senders keep pooled connections open (activities/email.ts): closing the sink ends them after half a second
    // instead of waiting 30 s for every sender to hang up.
    closeTimeout: 500,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const mail: CapturedMail = {
            id: randomUUID(),
            receivedAt: new Date(),
            from: addresses(parsed.from)[0] ?? '',
            to: addresses(parsed.to),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : null,
            messageId: parsed.messageId ?? null,
            headers: Object.fromEntries([...parsed.headers].map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
          };
          captured.push(mail);
          if (captured.length > MAX_MESSAGES) captured.shift();
          for (const waiter of waiters) waiter(mail);
          // With a store file, "250 accepted" means written down, as an MTA acknowledges only what it has stored.
          return save().then(() => callback());
        })
        .catch((error: Error) => callback(error));
    },
  });
  // SMTPServer forwards its net server's errors as its own 'error' events.
  const listenSmtp = listenServer(smtp.server, host);
  const smtpPort = opts.strictPorts ? await listenSmtp(opts.smtpPort ?? 0) : await listenOnPreferredPort(opts.smtpPort ?? 0, listenSmtp);

  let web: Server | undefined;
  let httpPort = 0;
  if (opts.web !== false) {
    const app = webApp({
      list: () => captured,
      clear: () => {
        captured.splice(0);
        void save();
      },
    });
    web = createServer(app);
    httpPort = await (opts.strictPorts ? listenServer(web, host)(opts.httpPort ?? 0) : listenOnPreferredPort(opts.httpPort ?? 0, listenServer(web, host)));
  }

  return {
    smtpPort,
    httpPort,
    smtpUrl: `smtp://${host}:${smtpPort}`,
    webUrl: `http://${host}:${httpPort}`,
    messages: () => [...captured],
    connections: () => connections,
    clear: () => void captured.splice(0),
    waitFor(predicate, { timeoutMs = 15_000 } = {}) {
      const already = captured.find(predicate);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = (mail: CapturedMail) => {
          if (!predicate(mail)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(mail);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = captured.map((m) => `  ${m.to.join(',')}: ${m.subject}`).join('\n') || '  (none)';
          reject(new Error(`No matching mail within ${timeoutMs} ms. Received so far:\n${seen}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async close() {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      await saving;
      if (web) await new Promise<void>((resolve) => web.close(() => resolve()));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sink = await startMailSink({
    smtpPort: Number(process.env.SMTP_PORT ?? 1025),
    httpPort: Number(process.env.MAIL_WEB_PORT ?? 8025),
    storeFile: process.env.MAIL_STORE_FILE || undefined,
    strictPorts: process.env.MAIL_STRICT_PORTS === '1',
  });
  console.log(`SMTP ${sink.smtpUrl}; mail page ${sink.webUrl}`);
}
