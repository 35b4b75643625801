import { createServer, type Server } from 'node:http';
import { listenOnPreferredPort, listenServer } from '../../lib/listen.js';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { httpServerSpans } from '../../lib/tracing.js';
import { AtsStore, atsRouter, type EventTarget } from './ats.js';
import { ErpStore, erpRouter } from './erp.js';
import { ESignStore, esignRouter } from './esign.js';
import { SimulatorControls, type Fault, type LoggedRequest } from './faults.js';
import { HrisStore, hrisRouter } from './hris.js';
import { persistTo } from './persistence.js';
import { ItStore, itRouter } from './it.js';
import { ScreeningStore, screeningRouter } from './screening.js';

export const simulatedSystems = ['erp', 'hris', 'ats', 'screening', 'esign', 'it'] as const;
export type SystemName = (typeof simulatedSystems)[number];

/** The engine's *_BASE_URL settings for simulators listening at `url`. */
export function simulatorUrls(url: string): Record<string, string> {
  return Object.fromEntries(simulatedSystems.map((system) => [`${system.toUpperCase()}_BASE_URL`, `${url}/${system}`]));
}

export interface SimulatorOptions {
  latencyMs?: [number, number];
  /** The ERP key, as before systems had their own; `apiKeys.erp` wins. */
  apiKey?: string;
  /** Each system's bearer key; default `dev-<system>-key`. */
  apiKeys?: Partial<Record<SystemName, string>>;
  /** Keep the systems' records in this JSON file, so a restart of `npm run dev` finds them again. */
  storeFile?: string;
  /** Where the ATS sends its signed events (offer.accepted, offer.withdrawn): the engine's POST /events/ats. */
  eventTargets?: { ats?: EventTarget };
}

export interface Simulators {
  url: string;
  port: number;
  erp: ErpStore;
  hris: HrisStore;
  ats: AtsStore;
  screening: ScreeningStore;
  esign: ESignStore;
  it: ItStore;
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
 * Local stand-ins for the SaaS systems processes call, one HTTP service, each system under its own prefix with its
 * own key. Adding a system: a store, a router, and one `app.use` line below.
 */
export function createSimulatorApp(options: SimulatorOptions = {}) {
  const apiKeys: Record<string, string> = Object.fromEntries(simulatedSystems.map((system) => [system, options.apiKeys?.[system] ?? `dev-${system}-key`]));
  if (options.apiKey && !options.apiKeys?.erp) apiKeys.erp = options.apiKey;
  const controls = new SimulatorControls({ latencyMs: options.latencyMs ?? [20, 120], apiKeys });
  const stores = {
    erp: new ErpStore(),
    hris: new HrisStore(),
    ats: new AtsStore(options.eventTargets?.ats),
    screening: new ScreeningStore(),
    esign: new ESignStore(),
    it: new ItStore(),
  };
  const persistence = options.storeFile ? persistTo(options.storeFile, { ...stores, idempotency: controls.answered }) : undefined;
  const app: Express = express();
  // Like a real system that traces: its server spans join the caller's trace (traceparent).
  app.use(httpServerSpans('opsflow-simulators'));
  app.use(express.json({ limit: '1mb' }));
  if (persistence) {
    app.use((req, res, next) => {
      if (req.method !== 'GET') res.on('finish', () => persistence.changed());
      next();
    });
  }

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

  app.use('/erp', controls.gate('erp'), erpRouter(stores.erp, controls));
  app.use('/hris', controls.gate('hris'), hrisRouter(stores.hris, controls));
  app.use('/ats', controls.gate('ats'), atsRouter(stores.ats, controls));
  app.use('/screening', controls.gate('screening'), screeningRouter(stores.screening, controls));
  // The signing page is public (the signer has no key), so the e-signature router gates its API routes itself.
  app.use('/esign', esignRouter(stores.esign, controls));
  app.use('/it', controls.gate('it'), itRouter(stores.it, controls));

  app.use((req, res) => void res.status(404).json({ error: { code: 'not_found', message: `No route ${req.method} ${req.path}` } }));
  app.use(jsonErrors);
  return { app, controls, persistence, ...stores };
}

export async function startSimulators(options: SimulatorOptions & { port?: number; host?: string } = {}): Promise<Simulators> {
  const { app, controls, persistence, ...stores } = createSimulatorApp(options);
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer(app);
  await listenOnPreferredPort(options.port ?? 0, listenServer(server, host));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    ...stores,
    injectFault: (fault) => controls.injectFault(fault),
    clearFaults: () => controls.clearFaults(),
    requestLog: (system) => controls.requestLog(system),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await persistence?.flush();
    },
  };
}
