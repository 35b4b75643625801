import { readFile } from 'node:fs/promises';
import { describe, expect, inject, it } from 'vitest';

/**
 * The workflow bundle is what every cached run costs in worker memory: it holds workflow code and the pure helpers
 * from processes/*-flow.ts, never zod (the process schemas validate in the API and activities) nor Node built-ins.
 */
describe('the workflow bundle', () => {
  it('holds no zod and no Prisma', async () => {
    const bundle = await readFile(inject('workflowBundlePath'), 'utf8');
    expect(bundle).toContain('capexWorkflow');
    expect(bundle).not.toMatch(/node_modules\/zod\//);
    expect(bundle).not.toContain('ZodError');
    expect(bundle).not.toMatch(/node_modules\/@prisma\//);
  });
});
