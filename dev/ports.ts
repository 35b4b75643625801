import { createServer } from 'node:net';

function tryListen(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** The preferred port when it is free, else any free port: this machine already runs services on the usual ones. */
export async function freePort(preferred = 0, host = '127.0.0.1'): Promise<number> {
  if (preferred > 0) {
    const port = await tryListen(preferred, host);
    if (port) return port;
  }
  const port = await tryListen(0, host);
  if (!port) throw new Error('No free TCP port found');
  return port;
}

/**
 * A free port below 32768. Temporal's SQL persistence keeps membership ports in a smallint, so a port the OS hands
 * out from its ephemeral range (often above 32767) stops the real server at start.
 */
export async function freePortBelow32768(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await tryListen(20_000 + Math.floor(Math.random() * 12_000), host);
    if (port) return port;
  }
  throw new Error('No free TCP port found below 32768');
}

