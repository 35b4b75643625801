import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSimulators } from '../../dev/simulators/server.js';

describe('simulators across a restart of npm run dev', () => {
  it('keep their records, continue their ids and still replay idempotency keys', async () => {
    const storeFile = join(mkdtempSync(join(tmpdir(), 'opsflow-sim-')), 'simulators.json');
    const create = (url: string, key: string) =>
      fetch(`${url}/ats/requisitions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer dev-ats-key', 'idempotency-key': key },
        body: JSON.stringify({ reference: key, title: 'QA', department: 'Engineering', level: 'L3', location: 'Berlin', salaryMin: 60_000, salaryMax: 70_000, currency: 'EUR', hiringManagerEmail: 'a@b.test', closesOn: '2030-01-01' }),
      }).then(async (r) => ({ status: r.status, replayed: r.headers.get('idempotent-replayed'), body: (await r.json()) as { requisitionId: string } }));

    const first = await startSimulators({ port: 0, latencyMs: [0, 0], storeFile });
    const opened = await create(first.url, 'run-1:requisition');
    first.screening.addToWatchlist('Nordlicht Handels');
    await first.close();

    const second = await startSimulators({ port: 0, latencyMs: [0, 0], storeFile });
    expect(second.ats.requisitions().map((r) => r.requisitionId)).toEqual([opened.body.requisitionId]);
    const retried = await create(second.url, 'run-1:requisition');
    expect(retried).toMatchObject({ status: 201, replayed: 'true', body: { requisitionId: opened.body.requisitionId } });
    const next = await create(second.url, 'run-2:requisition');
    expect(next.body.requisitionId).toBe('REQ-0002');
    expect(second.screening.screen({ reference: 'x', name: 'Nordlicht Handels GmbH', country: 'DE' }).status).toBe('hit');
    await second.close();
  });
});
