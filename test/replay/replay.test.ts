import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { processes } from '../../processes/index.js';
import { goldenHistories, replayFailures } from '../support/replay.js';

/**
 * The golden histories under test/replay/histories, recorded from real runs of every process by
 * `npm run histories:capture`, replayed against the workflow bundle built from the code as it is now. A change
 * that would break a run in flight fails here: put it behind `patched()` or give new runs a new workflow type
 * (README, "Changing a process"). Re-capturing is a deliberate, noted step, never a way to make this green.
 */
describe('runs in flight survive the current workflow code', () => {
  it('replays every golden history without a determinism error', async () => {
    const histories = await goldenHistories();
    const failures = await replayFailures(inject('workflowBundlePath'), histories);
    expect(failures).toEqual([]);
    // Every generation of every history is replayed in one worker: on a loaded machine this takes minutes.
  }, 240_000);

  it('holds histories of every process workflow and of webhook delivery, finished and still open', async () => {
    const histories = await goldenHistories();
    const types = new Set(histories.map((h) => h.workflowType));
    for (const type of [...processes.map((p) => p.workflowType), 'webhookDeliveryWorkflow']) expect(types, type).toContain(type);
    expect(histories.some((h) => h.status === 'RUNNING')).toBe(true);
    expect(histories.some((h) => h.status === 'CONTINUED_AS_NEW')).toBe(true);
  });
});
