import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { ErpStore, erpRouter } from './erp.js';
import { SimulatorControls, type Fault, type LoggedRequest } from './faults.js';

export interface SimulatorOptions {
  latencyMs?: [number, number];
  apiKey?: string;
}

export interface Simulators {
  url: string;
  port: number;
  erp: ErpStore;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  requestLog(system?: string): LoggedRequest[];
  close(): Promise<void>;
}

const jsonErrors: ErrorRequestHandler = (error: { type?: string }, _req, res, _next) => {
  if (error.type === 'entity.parse.failed') return void res.status(400).json({ error: { code: 'bad_request', message: 'Malformed JSON' } });
  res.status(500).json({ error: { code: 'internal', message: 'Simulator error' } });
};

/**
 * Local stand-ins for the SaaS systems processes call, one HTTP service, each system under its own prefix. Adding
 * a system: a store, a router, and one `app.use` line below.
 */
export function createSimulatorApp(options: SimulatorOptions = {}): { app: Express; erp: ErpStore; controls: SimulatorControls } {
  const controls = new SimulatorControls({ latencyMs: options.latencyMs ?? [20, 120], apiKey: options.apiKey ?? 'dev-erp-key' });
  const erp = new ErpStore();
  const app = express();
  app.use(express.json({ limit: '1mb' }));

  app.post('/_control/faults', (req, res) => {
    const fault = req.body as Fault;
    if (!fault?.system || !Number.isInteger(fault.fail) || fault.fail < 1) {
      return void res.status(422).json({ error: { code: 'validation_failed', message: 'A fault needs system and fail ≥ 1' } });
    }
    controls.injectFault(fault);
    res.status(201).json({ pending: controls.pendingFaults() });
  });
  app.get('/_control/faults', (_req, res) => void res.json({ pending: controls.pendingFaults() }));
  app.delete('/_control/faults', (_req, res) => {
    controls.clearFaults();
    res.status(204).end();
  });
  app.get('/_control/requests', (req, res) => {
    res.json({ items: controls.requestLog(typeof req.query.system === 'string' ? req.query.system : undefined) });
  });

  app.use('/erp', controls.gate('erp'), erpRouter(erp, controls));

  app.use((req, res) => void res.status(404).json({ error: { code: 'not_found', message: `No route ${req.method} ${req.path}` } }));
  app.use(jsonErrors);
  return { app, erp, controls };
}

export async function startSimulators(options: SimulatorOptions & { port?: number; host?: string } = {}): Promise<Simulators> {
  const { app, erp, controls } = createSimulatorApp(options);
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(options.port ?? 0, host, () => resolve(listening));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    erp,
    injectFault: (fault) => controls.injectFault(fault),
    clearFaults: () => controls.clearFaults(),
    requestLog: (system) => controls.requestLog(system),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
