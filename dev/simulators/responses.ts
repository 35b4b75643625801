import type { Request, Response } from 'express';
import type { z } from 'zod';

/** What the simulated systems answer when something is wrong, in the shape real APIs use. */
export function validationFailed(error: z.ZodError, what: string) {
  const issues = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  return { status: 422, body: { error: { code: 'validation_failed', message: `Invalid ${what}`, details: { issues } } } };
}

export function sendNotFound(res: Response, what: string): void {
  res.status(404).json({ error: { code: 'not_found', message: `No ${what}` } });
}

export function sendConflict(res: Response, message: string): void {
  res.status(409).json({ error: { code: 'conflict', message } });
}

export interface Sequence {
  (): string;
  /** Kept with the records (see persistence.ts), so ids continue after a restart. */
  counter: { next: number };
}

/** Readable sequential ids: PREFIX-000001. */
export function sequence(prefix: string, width: number, start = 1): Sequence {
  const counter = { next: start };
  return Object.assign(() => `${prefix}-${String(counter.next++).padStart(width, '0')}`, { counter });
}

/** `?reference=` narrows a list to the records one engine run made (the engine sends its run id as reference). */
export function withReference<T extends { reference: string }>(req: Request, items: T[]): T[] {
  const reference = typeof req.query.reference === 'string' ? req.query.reference : undefined;
  return items.filter((item) => !reference || item.reference === reference);
}
