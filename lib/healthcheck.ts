/**
 * The image's HEALTHCHECK (`node dist/lib/healthcheck.js [url]`): exits 0 when the URL answers 2xx within 3 s,
 * else 1 with the reason. Without a URL it checks the API on API_PORT; the worker's service passes its own
 * /healthz (WORKER_METRICS_PORT). Node's fetch, so the slim image needs no curl.
 */
const url = process.argv[2] ?? `http://127.0.0.1:${process.env.API_PORT ?? '4000'}/healthz`;

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) {
    console.error(`${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`${url} unreachable: ${(error as Error).message}`);
  process.exit(1);
}
