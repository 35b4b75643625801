import express, { type RequestHandler } from 'express';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../lib/json-depth.js';

/** The body-parser error type errors.ts turns into a 422 naming the depth limit. */
export const TOO_DEEP_ERROR_TYPE = 'entity.too.deep';

/** express.json with the depth limit checked on the raw bytes before parsing: every JSON route uses this. */
export function jsonBody(limit: string): RequestHandler {
  return express.json({
    limit,
    verify: (_req, _res, buffer) => {
      if (exceedsJsonDepth(buffer, MAX_JSON_DEPTH)) {
        throw Object.assign(new Error(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), { type: TOO_DEEP_ERROR_TYPE });
      }
    },
  });
}
