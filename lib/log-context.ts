import { AsyncLocalStorage } from 'node:async_hooks';

/** What a log line says about the work it belongs to; the logger adds these fields to every line logged inside. */
export interface LogContext {
  requestId?: string;
  runId?: string;
  process?: string;
  step?: string;
  activity?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/**
 * Runs `fn` with these fields on every line it logs (and everything it awaits). The object stays mutable: fields
 * added to it later (a route learns the run's process) show on the lines after.
 */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  const outer = storage.getStore();
  return storage.run(outer ? Object.assign(fields, { ...outer, ...fields }) : fields, fn);
}

/**
 * Adds fields to the work in progress, e.g. once a request has found the run it touches: every line logged after
 * carries them, and so does the request's own line (api/route-table.ts `inRequestLogContext`). Nothing outside
 * `withLogContext`.
 */
export function addLogFields(fields: LogContext): void {
  const current = storage.getStore();
  if (current) Object.assign(current, fields);
}

/** The fields of the work in progress, for the logger's mixin. */
export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}
