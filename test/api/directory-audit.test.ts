import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAuditEntry } from '../../lib/outbound-webhooks.js';
import { getJson, postJson } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/** A small RFC 4180 reader, written here so the export is checked against the format, not against itself. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  return rows;
}

describe('directory, delegations and the audit log over the API', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const api = (path: string) => `${stack.apiUrl}${path}`;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  async function patch(path: string, body: unknown) {
    const response = await fetch(api(path), { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminKey}` }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  it('lists, adds and edits people, naming bad fields', async () => {
    const cfos = await getJson(api('/directory/people?role=cfo'));
    expect(cfos.body.items.map((p: { email: string }) => p.email)).toEqual(['sam.okafor@example.com']);

    const bad = await postJson(api('/directory/people'), { email: 'nope', name: '', managerEmail: 'ghost@example.com' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['email', 'name']);
    expect((await postJson(api('/directory/people'), { email: 'kim@example.com', name: 'Kim Park', managerEmail: 'ghost@example.com' })).body.error.details.issues[0].path).toBe('managerEmail');

    const created = await postJson(api('/directory/people'), { email: 'Kim@Example.com', name: 'Kim Park', managerEmail: 'morgan.lee@example.com', roles: ['finance-analyst'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'kim@example.com', managerEmail: 'morgan.lee@example.com' });
    expect((await postJson(api('/directory/people'), { email: 'kim@example.com', name: 'Kim again' })).status).toBe(409);
    expect((await patch('/directory/people/kim@example.com', { managerEmail: 'kim@example.com' })).status).toBe(422);
    const moved = await patch('/directory/people/kim@example.com', { department: 'Finance', roles: ['finance-analyst', 'line-manager'] });
    expect(moved.body).toMatchObject({ department: 'Finance', roles: ['finance-analyst', 'line-manager'] });

    const reader = await stack.createKey('alex.rivera@example.com', ['runs:read']);
    expect((await postJson(api('/directory/people'), { email: 'x@example.com', name: 'X' }, as(reader))).status).toBe(403);
    // Reading someone else's entry needs directory:read (test/security/input.test.ts covers the list and delegations).
    expect((await getJson(api('/directory/people/kim@example.com'), as(reader))).status).toBe(403);
    expect((await getJson(api('/directory/people/alex.rivera@example.com'), as(reader))).status).toBe(200);
    expect((await getJson(api('/directory/people/kim@example.com'), as(await stack.createKey('alex.rivera@example.com', ['directory:read'])))).status).toBe(200);
    expect((await getJson(api('/directory/people/ghost@example.com'))).status).toBe(404);
  });

  it('approvers set their own out-of-office; others need directory:write; every change is audited', async () => {
    const morgan = await stack.createKey('morgan.lee@example.com', ['runs:read']);
    const casey = await stack.createKey('casey.nguyen@example.com', ['runs:read']);
    const window = { delegateEmail: 'casey.nguyen@example.com', startsAt: '2026-12-20T00:00:00Z', endsAt: '2027-01-05T00:00:00Z', reason: 'Holidays' };
    const path = '/directory/people/morgan.lee@example.com/delegations';

    expect((await postJson(api(path), window, as(casey))).status).toBe(403);
    const inverted = await postJson(api(path), { ...window, endsAt: '2026-12-01T00:00:00Z' }, as(morgan));
    expect(inverted.status).toBe(422);
    expect(inverted.body.error.details.issues[0].path).toBe('endsAt');
    expect((await postJson(api(path), { ...window, delegateEmail: 'morgan.lee@example.com' }, as(morgan))).body.error.details.issues[0].path).toBe('delegateEmail');

    const own = await postJson(api(path), window, as(morgan));
    expect(own.status).toBe(201);
    const listed = await getJson(api(path));
    expect(listed.body.items).toHaveLength(1);
    const removed = await fetch(api(`${path}/${own.body.id}`), { method: 'DELETE', headers: { authorization: `Bearer ${stack.adminKey}` } });
    expect(removed.status).toBe(204);

    const audit = await stack.db.auditEntry.findMany({ where: { action: { startsWith: 'delegation.' } }, orderBy: { id: 'asc' } });
    expect(audit.map((e) => [e.action, e.actor, e.onBehalfOf])).toEqual([
      ['delegation.created', 'morgan.lee@example.com', 'morgan.lee@example.com'],
      ['delegation.deleted', 'ops.desk@example.com', 'morgan.lee@example.com'],
    ]);
  });

  it('serves a run’s audit and exports the log as JSON lines and CSV', async () => {
    await stack.db.run.create({ data: { id: 'audit-run', process: 'capex', status: 'running', title: 'Audited', requesterName: 'A', requesterEmail: 'alex.rivera@example.com', input: {}, settings: {} } });
    const base = Date.parse('2026-07-01T00:00:00Z');
    const entries = [
      { action: 'approval.requested', actor: 'opsflow', details: { note: 'plain' } },
      { action: 'approval.decided', actor: 'Smith, "Jo"\nfrom Legal', details: { comment: '=SUM(A1:A9)' } },
      { action: 'approval.reminded', actor: '@mention', details: {} },
    ];
    for (const [i, e] of entries.entries()) await stack.db.$transaction((tx) => insertAuditEntry(tx, { ...e, runId: 'audit-run', at: new Date(base + i * 1000) }));

    const perRun = await getJson(api('/runs/audit-run/audit'));
    expect(perRun.body.items.map((e: { action: string }) => e.action)).toEqual(entries.map((e) => e.action));
    expect((await getJson(api('/runs/nope/audit'))).status).toBe(404);
    const noScope = await stack.createKey('alex.rivera@example.com', ['decisions:write']);
    expect((await getJson(api('/runs/audit-run/audit'), as(noScope))).status).toBe(403);

    const jsonl = await fetch(api('/audit/export?runId=audit-run'), { headers: as(stack.adminKey) });
    expect(jsonl.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await jsonl.text()).trim().split('\n').map((line) => JSON.parse(line) as { action: string });
    expect(lines.map((l) => l.action)).toEqual(entries.map((e) => e.action));

    const windowed = await fetch(api(`/audit/export?runId=audit-run&from=${new Date(base + 500).toISOString()}&to=${new Date(base + 1500).toISOString()}`), { headers: as(stack.adminKey) });
    expect((await windowed.text()).trim().split('\n')).toHaveLength(1);

    const csv = await fetch(api('/audit/export?runId=audit-run&format=csv'), { headers: as(stack.adminKey) });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toContain('opsflow-audit.csv');
    const rows = parseCsv(await csv.text());
    expect(rows[0]).toEqual(['id', 'at', 'run_id', 'action', 'actor', 'on_behalf_of', 'step', 'ip', 'user_agent', 'details', 'chain', 'seq', 'prev_hash', 'hash']);
    expect(rows).toHaveLength(4);
    expect(rows[2]![4]).toBe('Smith, "Jo"\nfrom Legal');
    expect(JSON.parse(rows[2]![9]!)).toEqual({ comment: '=SUM(A1:A9)' });
    expect(rows[3]![4]).toBe("'@mention");

    const reader = await stack.createKey('alex.rivera@example.com', ['runs:read']);
    expect((await getJson(api('/audit/export'), as(reader))).status).toBe(403);
    const bad = await getJson(api('/audit/export?format=xml&from=soon'));
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['query.format', 'query.from']);
  });

  it('exports in time order across batches even when entries were written out of order', async () => {
    await stack.db.run.create({ data: { id: 'order-run', process: 'capex', status: 'running', title: 'Ordered', requesterName: 'A', requesterEmail: 'alex.rivera@example.com', input: {}, settings: {} } });
    const base = Date.parse('2026-08-01T00:00:00Z');
    // 1,203 entries written newest first, with pairs sharing a timestamp: more than two export batches. Seeded in
    // one statement as unhashed rows numbered in insert order: the export's ordering is the point here, not the chain.
    const count = 1_203;
    await stack.db.auditEntry.createMany({
      data: Array.from({ length: count }, (_, i) => ({ runId: 'order-run', chain: 'order-run', seq: i + 1, action: 'test.entry', actor: `n${count - 1 - i}`, at: new Date(base + Math.floor((count - 1 - i) / 2) * 1000) })),
    });
    const response = await fetch(api('/audit/export?runId=order-run'), { headers: as(stack.adminKey) });
    const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { at: string; actor: string; id: string });
    expect(lines).toHaveLength(count);
    expect(new Set(lines.map((l) => l.id)).size).toBe(count);
    const times = lines.map((l) => Date.parse(l.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(lines[0]!.actor === 'n0' || lines[0]!.actor === 'n1').toBe(true);
  });
});
