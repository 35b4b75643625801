import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { findProcess } from '../../processes/index.js';
import { authenticate, requireScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { parseOr422 } from '../errors.js';
import { computeKpis } from '../kpis.js';

const DAY = 86_400_000;

export const kpiQuerySchema = z
  .object({
    process: z.string().min(1).optional(),
    from: z.coerce.date({ error: 'must be an ISO date or date-time' }).optional(),
    to: z.coerce.date({ error: 'must be an ISO date or date-time' }).optional(),
  })
  .transform((q) => {
    const to = q.to ?? new Date();
    return { process: q.process, to, from: q.from ?? new Date(to.getTime() - 90 * DAY) };
  })
  .refine((q) => q.from < q.to, { path: ['from'], message: 'must be before to' });

export function kpisRouter(ctx: ApiContext): Router {
  const router = Router();
  /** `GET /kpis?process=&from=&to=`: the window defaults to the last 90 days. */
  router.get('/kpis', authenticate(ctx), requireScope('runs:read'), async (req, res) => {
    const query = parseOr422(kpiQuerySchema, req.query, ['query'], 'Query parameters are invalid');
    if (query.process && !findProcess(query.process)) throw new AppError('not_found', `Unknown process "${query.process}"`);
    res.json(await computeKpis(ctx.db, query));
  });
  return router;
}
