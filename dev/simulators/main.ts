import { simulatedSystems, startSimulators, type SystemName } from './server.js';

const apiKeys: Partial<Record<SystemName, string>> = {};
for (const system of simulatedSystems) {
  const key = process.env[`${system.toUpperCase()}_API_KEY`];
  if (key) apiKeys[system] = key;
}
const atsEvents = process.env.ATS_EVENTS_URL && process.env.ATS_EVENTS_SECRET ? { url: process.env.ATS_EVENTS_URL, secret: process.env.ATS_EVENTS_SECRET } : undefined;
const simulators = await startSimulators({
  port: Number(process.env.SIMULATORS_PORT ?? 4100),
  host: process.env.SIMULATORS_HOST ?? '127.0.0.1',
  apiKeys,
  eventTargets: { ats: atsEvents },
});
console.log(`Simulators listening on ${simulators.url}`);
for (const system of simulatedSystems) console.log(`  ${system.padEnd(10)} ${simulators.url}/${system}`);
console.log(atsEvents ? `  ATS events -> ${atsEvents.url}` : '  ATS events: not sent (set ATS_EVENTS_URL and ATS_EVENTS_SECRET)');
const stop = () => void simulators.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
