import { patched } from '@temporalio/workflow';
import { getActivator } from '@temporalio/workflow/lib/global-attributes.js';

/**
 * Every change to workflow code that alters its commands is a patch (README, "Changing a process"). Each patch a
 * run takes costs two history events: its marker and the `TemporalChangeVersion` search attribute the SDK upserts
 * with it. The patches of December 2026 are folded into one baseline: a run that starts under the baseline records
 * one marker and takes all of them; a run that began before it evaluates each one as it always did, so its history
 * replays unchanged. Later patches go through `hasPatch` too and are added to a later baseline in the same way: each
 * baseline takes every patch of the ones before it, and a run records the marker of the newest baseline only.
 */

/**
 * Patch: the short database work of a run (the approver lookup, the run's read model: current step, close and its
 * audit entry) runs as local activities: in the worker, inside the workflow task that asked for it, without a
 * round trip through the server (one marker in the history instead of three events and a workflow task). Mail,
 * links, decisions' records and external systems stay ordinary activities. Runs that began before replay the old
 * way.
 */
export const SHORT_WORK_AS_LOCAL_ACTIVITIES = 'short-work-as-local-activities';

/**
 * Patch: a step's read model (the run's current step) is written by the first seat's openApprovalRequest instead
 * of an updateRun activity of its own: one round trip less per step. Runs that opened steps the old way replay
 * the old way (see README, "Changing a process").
 */
export const STEP_RECORDED_WITH_REQUEST = 'step-recorded-with-request';

/**
 * Patch: a decision's Update answers as soon as the workflow holds the decision (it is durable in the run's
 * history then), and its record (the request marked used, the audit entry) is written by an activity the answer
 * does not wait for. The step waits for its records before it closes, so the audit keeps its order.
 */
export const DECISION_ANSWERED_BEFORE_RECORDING = 'decision-answered-before-recording';

/**
 * Patch: a step closed by decisions no longer waits for their records (DECISION_ANSWERED_BEFORE_RECORDING) when the
 * chain goes on to another step: that step's requests carry the records still being written and write them (once,
 * whoever is first) before their own audit entries, so the next approver's mail leaves one round trip sooner and
 * the audit keeps its order. Every other way on from a step still waits for the records first.
 */
export const DECISION_RECORD_CARRIED_BY_NEXT_STEP = 'decision-record-carried-by-next-step';

/**
 * Patch: the chain goes on after an edit only once the edit is recorded (the run's input in the read model and
 * the new facts version). Before, it went on as soon as the edit was accepted, so a step asked again could mail
 * the old facts, without "changed since you approved", while the record was still being written.
 */
export const REVISION_RECORDED_BEFORE_RESUMING = 'revision-recorded-before-resuming';

/**
 * Patch: escalation fills a seat under the same rules as the step's first filling: when nobody the escalation
 * target names is eligible, the policy's fallback role takes it, and the audit says who was missing and why (the
 * expiry's reason too). Before, such a step quietly waited for its deadline.
 */
export const ESCALATION_UNDER_SEAT_RULES = 'escalation-under-seat-rules';

/**
 * Patch: a decision's record is not written by an activity of its own as soon as it is taken, but by whatever comes
 * next: the next step's requests carry it (one activity and one workflow task less per step), a step that stays open
 * writes it from its main loop at once, and every other way on (the step closing with links to revoke, the chain's
 * end, a rejection, a cancellation) writes it first. The bound: a decision's record and audit entry are written
 * before anything that follows from it is recorded or mailed.
 */
export const DECISION_RECORD_DEFERRED = 'decision-record-deferred';

/**
 * Patch: the first day is prepared by people, as human tasks due before the start date (IT's laptop and accounts,
 * facilities' desk, the hiring manager's checklist, which was a mail before), and the run completes once they are
 * done; a withdrawal closes the open ones and tells whoever did one to undo it. Read once, when a run starts, so a
 * run keeps the path it began on: runs that began before replay (and go on) without tasks.
 */
export const PREPARATION_TASKS = 'hiring-preparation-tasks';

/**
 * Patch: security's review of a supplier that handles our data is work (checking the questionnaire and
 * certificates), so it became a task for the security group before the sign-off, whose facts show its verdict;
 * procurement and finance still sign off as approvers. Read once, when a run starts: runs that began before keep
 * security among the review step's approvers.
 */
export const SECURITY_CHECK_AS_TASK = 'supplier-security-check-task';

/**
 * Patch: a step's seats are opened by one activity that looks the approvers up, takes each seat's first candidate
 * when nobody has to be passed over, and records and mails the requests (openApprovalStep), instead of a lookup and
 * then an activity per seat: one round trip and one workflow task less per step. A decision on a seat being opened
 * waits for its approver to be known. Anyone to pass over, or an empty seat, and the seats are filled as before.
 */
export const STEP_OPENED_IN_ONE_ACTIVITY = 'step-opened-in-one-activity';

/**
 * Patch: a run's close, its audit entry and the requester's notice are one activity (closeRun): the close, the
 * entries of what came just before it (decision records not yet written, the purchase order) and the notice's mail
 * recorded `sending` commit together, then the mail is handed off. Before, the close was a local activity of its own,
 * the requester's notice another activity, and the last decisions' records (and the purchase order's audit entry)
 * were written first by activities of their own.
 */
export const RUN_CLOSED_WITH_NOTICE = 'run-closed-with-notice';

/**
 * Patch: a run started by a client outside any trace (Opsflow's API with tracing off) runs without the OpenTelemetry
 * workflow interceptors (worker/sandbox/tracing.ts), instead of always with them: its spans went nowhere, and they
 * cost every workflow task (about a third of the time a worker spends on a decision's task). Decided once per run,
 * from its start: runs that began before stay traced, with the awaits the interceptors add to its handlers.
 */
export const TRACED_ONLY_WITH_CONTEXT = 'traced-only-with-context';

/**
 * Patch: capex's purchase order no longer writes the last decisions' records and its step before it asks the ERP;
 * the run's close writes them, before the order's entry and its own, in the transaction it commits anyway (the
 * order's activity still writes them from its second attempt, so an ERP that is down or slow does not keep them out
 * of the read model for longer than one attempt). One transaction less per approved run.
 */
export const PURCHASE_ORDER_RECORDS_WITH_CLOSE = 'purchase-order-records-with-close';

/** Patch: the baseline of December 2026, taking every patch above RUN_CLOSED_WITH_NOTICE with one marker (see the top of this file). */
export const BASELINE_2026_12 = 'baseline-2026-12';

/** Patch: the second baseline of December 2026: the first one's patches and RUN_CLOSED_WITH_NOTICE. */
export const BASELINE_2026_12B = 'baseline-2026-12b';

/** Patch: the third baseline of December 2026: the second one's patches and TRACED_ONLY_WITH_CONTEXT. */
export const BASELINE_2026_12C = 'baseline-2026-12c';

/** Patch: the fourth baseline of December 2026: the third one's patches and PURCHASE_ORDER_RECORDS_WITH_CLOSE. */
export const BASELINE_2026_12D = 'baseline-2026-12d';

const inBaseline2026_12: ReadonlySet<string> = new Set([
  SHORT_WORK_AS_LOCAL_ACTIVITIES,
  STEP_RECORDED_WITH_REQUEST,
  DECISION_ANSWERED_BEFORE_RECORDING,
  DECISION_RECORD_CARRIED_BY_NEXT_STEP,
  REVISION_RECORDED_BEFORE_RESUMING,
  ESCALATION_UNDER_SEAT_RULES,
  DECISION_RECORD_DEFERRED,
  PREPARATION_TASKS,
  SECURITY_CHECK_AS_TASK,
  STEP_OPENED_IN_ONE_ACTIVITY,
]);

const inBaseline2026_12b: ReadonlySet<string> = new Set([...inBaseline2026_12, RUN_CLOSED_WITH_NOTICE]);
const inBaseline2026_12c: ReadonlySet<string> = new Set([...inBaseline2026_12b, TRACED_ONLY_WITH_CONTEXT]);
const inBaseline2026_12d: ReadonlySet<string> = new Set([...inBaseline2026_12c, PURCHASE_ORDER_RECORDS_WITH_CLOSE]);

/** The baselines, newest first: a new run records the first; a run that began earlier finds the one it recorded. */
const baselines: ReadonlyArray<{ id: string; patches: ReadonlySet<string> }> = [
  { id: BASELINE_2026_12D, patches: inBaseline2026_12d },
  { id: BASELINE_2026_12C, patches: inBaseline2026_12c },
  { id: BASELINE_2026_12B, patches: inBaseline2026_12b },
  { id: BASELINE_2026_12, patches: inBaseline2026_12 },
];

/**
 * Whether each run started under the baseline, decided once per run in its first workflow task: there a run that
 * began before the baseline is replaying and finds no marker. Asked later, `patched()` would answer true in the
 * live part of such a run (a missing marker during replay is not final), switching it mid-way; hence the memo.
 * This module is evaluated once per worker thread and shared by every workflow cached there (the workflows are
 * preloaded, worker/build-bundle.ts), so the memo is kept per run: by the run's Activator, the SDK's object for one
 * workflow in the cache, which a replay after an eviction makes anew (the replay decides again, in its first task).
 */
const baselineOf = new WeakMap<object, ReadonlySet<string>>();

/**
 * Called first thing by every process workflow (openRun, and before that by a workflow that reads a patch at once),
 * so the decision falls in the run's first workflow task. Calling it again in the same run changes nothing. The
 * newest baseline is asked first: a new run records its marker and asks no other; a run replaying an older baseline's
 * marker finds no newer one (no marker, no command) and then its own.
 */
export function decidePatchBaseline(): void {
  const run = getActivator();
  if (baselineOf.has(run)) return;
  const taken = baselines.find((candidate) => patched(candidate.id));
  baselineOf.set(run, taken?.patches ?? new Set());
}

/**
 * `patched(id)`, except that a run started under a baseline takes that baseline's patches without markers of their
 * own. A workflow that never decided the baseline gets plain `patched(id)`: never a baseline decided mid-run.
 */
export function hasPatch(id: string): boolean {
  if (baselineOf.get(getActivator())?.has(id)) return true;
  return patched(id);
}
