import { simulatedSystems, startSimulators } from './server.js';

const atsEvents = process.env.ATS_EVENTS_URL && process.env.ATS_EVENTS_SECRET ? { url: process.env.ATS_EVENTS_URL, secret: process.env.ATS_EVENTS_SECRET } : undefined;
const simulators = await startSimulators({
  port: Number(process.env.SIMULATORS_PORT ?? 4100),
  host: process.env.SIMULATORS_HOST ?? '127.0.0.1',
  apiKeys: Object.fromEntries(simulatedSystems.map((system) => [system, process.env[`${system.toUpperCase()}_API_KEY`]]).filter(([, key]) => key)),
  eventTargets: { ats: atsEvents },
});
console.log(`Simulators listening on ${simulators.url}: ${simulatedSystems.map((s) => `/${s}`).join(', ')}`);
const stop = () => void simulators.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
