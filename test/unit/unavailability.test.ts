import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Connection, WorkflowNotFoundError } from '@temporalio/client';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../../api/app.js';
import { toAppError } from '../../api/errors.js';
import { loadConfig } from '../../lib/config.js';
import { createDb } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { lazyClient } from '../../lib/temporal.js';
import { classifyUnavailable } from '../../lib/unavailability.js';

/** Errors produced for real by the libraries the API uses, against ports where nothing (or nothing useful) listens. */
async function caught(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to fail');
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

let closedPort: number;
/** Accepts a connection and drops it at once: a database that dies mid-handshake. */
let dropping: Server;
let droppingPort: number;

beforeAll(async () => {
  const probe = createServer();
  closedPort = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  dropping = createServer((socket) => socket.destroy());
  droppingPort = await listen(dropping);
});
afterAll(async () => {
  await new Promise((resolve) => dropping.close(resolve));
});

describe('classifyUnavailable over real errors', () => {
  it('a Prisma client whose database port is closed: unavailable database (model query, raw query, transaction)', async () => {
    const db = createDb(`postgresql://u:p@127.0.0.1:${closedPort}/x`);
    const model = await caught(() => db.run.findMany());
    const raw = await caught(() => db.$queryRaw`SELECT 1`);
    const transaction = await caught(() => db.$transaction(async (tx) => tx.run.count()));
    expect((model as { code: string }).code).toBe('P1001');
    expect((raw as { code: string }).code).toBe('P2010');
    for (const error of [model, raw, transaction]) expect(classifyUnavailable(error)).toEqual({ dependency: 'database', reason: 'the database server cannot be reached' });
  });

  it('a database that drops the connection during the handshake: unavailable database', async () => {
    const db = createDb(`postgresql://u:p@127.0.0.1:${droppingPort}/x`);
    const error = await caught(() => db.run.findMany());
    expect(classifyUnavailable(error)?.dependency).toBe('database');
  });

  it('Temporal unreachable: ServiceError(UNAVAILABLE) from the client, and the raw gRPC error', async () => {
    // The API's own client (lib/temporal.ts): a lazy connection and a few gRPC attempts per call.
    const client = lazyClient({ TEMPORAL_ADDRESS: `127.0.0.1:${closedPort}`, TEMPORAL_NAMESPACE: 'default' }, {});
    const describeError = await caught(() => client.workflow.getHandle('nope').describe());
    const rawError = await caught(() => client.workflowService.getSystemInfo({}));
    expect((describeError as Error).name).toBe('ServiceError');
    expect(classifyUnavailable(describeError)).toEqual({ dependency: 'workflow engine', reason: 'the workflow engine cannot be reached' });
    expect(classifyUnavailable(rawError)).toEqual({ dependency: 'workflow engine', reason: 'the workflow engine cannot be reached' });
    await client.connection.close();
  });

  it('a Temporal connection that cannot be made: unavailable workflow engine', async () => {
    const error = await caught(() => Connection.connect({ address: `127.0.0.1:${closedPort}`, connectTimeout: 300 }));
    expect(classifyUnavailable(error)?.dependency).toBe('workflow engine');
  });

  it('errors that are not outages stay what they are', async () => {
    const db = createDb(`postgresql://u:p@127.0.0.1:${closedPort}/x`);
    // Prisma refuses the arguments before it ever connects.
    const validation = await caught(() => db.run.findMany({ where: { nope: 1 } as never }));
    expect((validation as Error).name).toBe('PrismaClientValidationError');
    const zodError = z.object({ a: z.string() }).safeParse({}).error;
    const notFound = new WorkflowNotFoundError('no such workflow', 'w', undefined);
    for (const error of [validation, zodError, notFound, new TypeError('x is undefined'), new AppError('conflict', 'no'), undefined, 'text']) {
      expect(classifyUnavailable(error)).toBeUndefined();
    }
    expect(toAppError(new TypeError('x')).status).toBe(500);
  });
});

describe('the API with its database and Temporal down', () => {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgresql://u:p@127.0.0.1:1/x', TOKEN_SECRETS: 'k'.repeat(32) });
  const app = () =>
    createApp({
      db: createDb(`postgresql://u:p@127.0.0.1:${closedPort}/x`),
      temporal: lazyClient({ TEMPORAL_ADDRESS: `127.0.0.1:${closedPort}`, TEMPORAL_NAMESPACE: 'default' }, {}),
      config,
      logger: createLogger('test', 'silent'),
    });

  it('answers JSON routes 503 with Retry-After and says which dependency, never 500', async () => {
    const response = await request(app()).get('/runs').set('authorization', `Bearer opk_${'a'.repeat(12)}_${'b'.repeat(43)}`);
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.body.error).toMatchObject({ code: 'unavailable', details: { dependency: 'database', retryAfterSeconds: 5 } });
    expect(response.body.error.message).toMatch(/The database is unavailable \(the database server cannot be reached\); nothing was changed/);
  });

  it('answers an approval link with an HTML page (503, Retry-After), and /healthz says degraded', async () => {
    const page = await request(app()).get(`/approvals/${'a'.repeat(43)}`);
    expect(page.status).toBe(503);
    expect(page.headers['retry-after']).toBe('5');
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toMatch(/Please try again in a minute/);
    expect(page.text).toMatch(/your link keeps working/);
    const health = await request(app()).get('/healthz');
    expect(health.status).toBe(503);
    expect(health.headers['retry-after']).toBe('5');
    expect(health.body).toMatchObject({ status: 'degraded', checks: { database: { ok: false }, temporal: { ok: false } } });
  });
});
