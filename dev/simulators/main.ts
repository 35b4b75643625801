import { startSimulators } from './server.js';

const simulators = await startSimulators({
  port: Number(process.env.SIMULATORS_PORT ?? 4100),
  host: process.env.SIMULATORS_HOST ?? '127.0.0.1',
  apiKey: process.env.ERP_API_KEY ?? 'dev-erp-key',
});
console.log(`Simulators listening on ${simulators.url} (ERP at ${simulators.url}/erp)`);
const stop = () => void simulators.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
