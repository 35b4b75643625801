import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOnPreferredPort, listenServer } from '../../lib/listen.js';

/** The listeners of npm run dev and the worker's endpoint bind themselves: a taken port means another port, not a crash. */
const servers: Server[] = [];
const server = () => {
  const created = createServer();
  servers.push(created);
  return created;
};
afterEach(async () => {
  for (const s of servers.splice(0)) if (s.listening) await new Promise((resolve) => s.close(resolve));
});

describe('listenOnPreferredPort', () => {
  it('takes the preferred port when it is free, and any free one when another listener holds it', async () => {
    const holder = server();
    const held = await listenServer(holder)(0);
    const second = server();
    const bound = await listenOnPreferredPort(held, listenServer(second));
    expect(bound).not.toBe(held);
    expect(second.listening).toBe(true);

    await new Promise((resolve) => holder.close(resolve));
    const third = server();
    expect(await listenOnPreferredPort(held, listenServer(third))).toBe(held);
  });

  it('fails on other listen errors instead of hiding them', async () => {
    await expect(listenOnPreferredPort(80_000, listenServer(server()))).rejects.toThrow();
  });
});
