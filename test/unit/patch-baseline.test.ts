import { beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * workflows/patches.ts is evaluated once per worker thread and shared by every cached workflow (the workflows are
 * preloaded, worker/build-bundle.ts), and a worker thread interleaves the activations of its runs. Each run must keep
 * the baseline it decided in its first workflow task whatever other runs decide meanwhile: a run replaying an older
 * baseline that fell back to `patched()` would take the unpatched path there and fail with a determinism error.
 * The SDK is stood in for: which run is active (its Activator) and what `patched()` answers for it.
 */
const sdk = vi.hoisted(() => ({
  active: undefined as undefined | { name: string; markers: Set<string>; asked: string[] },
}));
vi.mock('@temporalio/workflow', () => ({
  patched: (id: string) => {
    sdk.active!.asked.push(id);
    return sdk.active!.markers.has(id);
  },
}));
vi.mock('@temporalio/workflow/lib/global-attributes.js', () => ({ getActivator: () => sdk.active }));

const { BASELINE_2026_12C, BASELINE_2026_12D, PURCHASE_ORDER_RECORDS_WITH_CLOSE, RUN_CLOSED_WITH_NOTICE, decidePatchBaseline, hasPatch } = await import('../../workflows/patches.js');

/** A run whose history holds these markers; `patched()` is false for any other (a replay finds none). */
const run = (name: string, markers: string[]) => ({ name, markers: new Set(markers), asked: [] as string[] });

describe('patch baselines in a module shared by every cached run', () => {
  let older: ReturnType<typeof run>;
  let newer: ReturnType<typeof run>;
  const as = <T>(r: ReturnType<typeof run>, fn: () => T): T => {
    sdk.active = r;
    return fn();
  };
  beforeEach(() => {
    older = run('replaying a run begun under baseline-2026-12c', [BASELINE_2026_12C]);
    newer = run('a new run', [BASELINE_2026_12D]);
  });

  it('each run keeps its own baseline when their activations interleave', () => {
    as(older, decidePatchBaseline);
    as(newer, decidePatchBaseline);
    // The older run, after the newer one decided: its baseline's patches without markers, and not the newer one's.
    expect(as(older, () => hasPatch(RUN_CLOSED_WITH_NOTICE))).toBe(true);
    expect(as(older, () => hasPatch(PURCHASE_ORDER_RECORDS_WITH_CLOSE))).toBe(false);
    expect(as(newer, () => hasPatch(PURCHASE_ORDER_RECORDS_WITH_CLOSE))).toBe(true);
    as(older, decidePatchBaseline);
    expect(as(older, () => hasPatch(RUN_CLOSED_WITH_NOTICE))).toBe(true);
    // Only the baselines were asked of `patched()`, newest first, once per run.
    expect(older.asked).toEqual([BASELINE_2026_12D, BASELINE_2026_12C, PURCHASE_ORDER_RECORDS_WITH_CLOSE]);
    expect(newer.asked).toEqual([BASELINE_2026_12D]);
  });

  it('a run that never decided its baseline asks patched() for every patch', () => {
    as(newer, decidePatchBaseline);
    const undecided = run('a workflow without the baseline', [RUN_CLOSED_WITH_NOTICE]);
    expect(as(undecided, () => hasPatch(RUN_CLOSED_WITH_NOTICE))).toBe(true);
    expect(as(undecided, () => hasPatch(PURCHASE_ORDER_RECORDS_WITH_CLOSE))).toBe(false);
    expect(undecided.asked).toEqual([RUN_CLOSED_WITH_NOTICE, PURCHASE_ORDER_RECORDS_WITH_CLOSE]);
  });
});
