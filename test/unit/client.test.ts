import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clientSchemaPath, generateClientSchema } from '../../dev/generate-client.js';

describe('the typed client', () => {
  it('is what the route table generates today (run npm run client:generate after changing a route)', async () => {
    expect(readFileSync(clientSchemaPath, 'utf8') === (await generateClientSchema()), 'client/schema.d.ts is stale: npm run client:generate').toBe(true);
  });
});
