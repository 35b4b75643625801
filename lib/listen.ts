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
