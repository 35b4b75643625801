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

/**
 * Listens on `preferred`, or on a port the OS picks (0) when another process holds it: the listener itself is the
 * check, so nothing can take the port between a probe and the listen (npm run dev crashed on that race with
 * EADDRINUSE). `listen` binds one port and resolves with the port bound (or rejects with the listen error).
 */
export async function listenOnPreferredPort(preferred: number, listen: (port: number) => Promise<number>): Promise<number> {
  try {
    return await listen(preferred);
  } catch (error) {
    if (preferred === 0 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return listen(0);
  }
}

/** listen() of a net/http server as a promise of the port bound. */
export function listenServer(server: { listen(port: number, host: string): unknown; once(event: 'error', listener: (error: Error) => void): unknown; once(event: 'listening', listener: () => void): unknown; off(event: 'error', listener: (error: Error) => void): unknown; address(): unknown }, host = '127.0.0.1') {
  return (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
      server.listen(port, host);
    });
}
