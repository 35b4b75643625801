import { canonicalJson } from './facts.js';

/**
 * The controls every process's policy carries, and the pure rules that apply them. Pure and free of zod and Node
 * built-ins so the workflow enforces them itself: every channel (link, API, chat) and every way a seat is filled
 * (resolution, delegation, escalation, reassignment) passes through the workflow.
 */

export interface SeparationOfDuties {
  /** One person decides at most one step of a run (true by default). */
  onePersonOneStep: boolean;
  /** Who takes a seat when nobody the step's roles resolve to is eligible; without it the run fails at that step. */
  fallbackRole?: string;
}

/** An edit that changes one of these fields asks again everyone who approved before it. */
export interface MaterialChangeRule {
  /** A dotted path into the run's input, e.g. "amount" or "details.bank". */
  field: string;
  /** `increased`: only a larger number counts (an amount going down needs no new approval); `changed`: any change. */
  when: 'changed' | 'increased';
}

export interface ControlsPolicy {
  separationOfDuties: SeparationOfDuties;
  materialChanges: MaterialChangeRule[];
}

/** What a run carries about the policy it started with, so replay and later policy edits never change it. */
export interface PolicyStamp {
  version: number;
  /** True when the starter tuned this run with `settings` (scope runs:configure). */
  overridden: boolean;
}

export function valueAt(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** The fields whose change, by the policy's rules, needs the earlier approvals again. */
export function materialChangesBetween(rules: MaterialChangeRule[], before: unknown, after: unknown): string[] {
  return rules
    .filter((rule) => {
      const old = valueAt(before, rule.field);
      const now = valueAt(after, rule.field);
      if (rule.when === 'increased' && typeof old === 'number' && typeof now === 'number') return now > old;
      return canonicalJson(old ?? null) !== canonicalJson(now ?? null);
    })
    .map((rule) => rule.field);
}

/** A person who could take a seat: the directory's answer for a role, with out-of-office delegation followed. */
export interface Candidate {
  email: string;
  name: string;
  /** The role reference the seat was filled from ("role:cfo", "manager-of-requester"). */
  role: string;
  /** The person whose seat this is when a delegate holds it (first of the delegation chain). */
  onBehalfOf?: { email: string; name: string };
  /** Why this person cannot take it at all (e.g. their delegations form a cycle). */
  unavailable?: string;
}

/** The people of a run whom separation of duties keeps out of its seats, and who decided which step. */
export interface DutiesContext {
  requesterEmail: string;
  /** Whose key started the run, when that is someone other than the requester. */
  startedBy?: string;
  onePersonOneStep: boolean;
  /** email → the step they decided (approved, rejected or asked for changes). */
  decided: ReadonlyMap<string, { stepId: string; stepTitle: string }>;
}

const same = (a: string | undefined, b: string | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

/** Why `email` may not decide `stepId` of this run; undefined when they may. */
export function dutyConflict(email: string, stepId: string, context: DutiesContext): string | undefined {
  if (same(email, context.requesterEmail)) return 'is the requester of this run';
  if (same(email, context.startedBy)) return 'started this run';
  if (context.onePersonOneStep) {
    const earlier = context.decided.get(email.toLowerCase());
    if (earlier && earlier.stepId !== stepId) return `already decided "${earlier.stepTitle}" on this run`;
  }
  return undefined;
}

/** Why a candidate may not take a seat of `stepId`: their own conflict, or that of the person they stand in for. */
export function candidateConflict(candidate: Candidate, stepId: string, context: DutiesContext): string | undefined {
  if (candidate.unavailable) return candidate.unavailable;
  const own = dutyConflict(candidate.email, stepId, context);
  if (own) return own;
  const principal = candidate.onBehalfOf && dutyConflict(candidate.onBehalfOf.email, stepId, context);
  return principal ? `stands in for ${candidate.onBehalfOf!.name}, who ${principal}` : undefined;
}

export interface SkippedCandidate {
  email: string;
  name: string;
  role: string;
  reason: string;
}

/**
 * The first candidate who may take the seat, in the directory's order (the role's holders, then up the manager
 * chain), passing over anyone already seated in this step; everyone passed over for a conflict is reported.
 */
export function firstEligible(
  candidates: Candidate[],
  stepId: string,
  context: DutiesContext,
  seated: ReadonlyArray<{ email: string }>,
): { chosen?: Candidate; skipped: SkippedCandidate[] } {
  const skipped: SkippedCandidate[] = [];
  for (const candidate of candidates) {
    if (seated.some((s) => same(s.email, candidate.email))) {
      skipped.push({ email: candidate.email, name: candidate.name, role: candidate.role, reason: 'already holds another seat of this step' });
      continue;
    }
    const conflict = candidateConflict(candidate, stepId, context);
    if (!conflict) return { chosen: candidate, skipped };
    skipped.push({ email: candidate.email, name: candidate.name, role: candidate.role, reason: conflict });
  }
  return { skipped };
}

/**
 * Each seat's first candidate, when every one of them may take it: nobody passed over, no seat empty. Undefined
 * otherwise, and the workflow fills the seats itself, auditing whom it passes over (workflows/approval.ts).
 */
export function seatsFilledWithoutPassingOver(seats: ReadonlyArray<{ candidates: Candidate[] }>, stepId: string, context: DutiesContext): Candidate[] | undefined {
  const chosen: Candidate[] = [];
  for (const seat of seats) {
    const pick = firstEligible(seat.candidates, stepId, context, chosen);
    if (!pick.chosen || pick.skipped.length > 0) return undefined;
    chosen.push(pick.chosen);
  }
  return chosen.length > 0 ? chosen : undefined;
}

/** The approver a seat goes to, from the candidate chosen for it (`role` when a fallback role filled it). */
export function approverOf(candidate: Candidate, role = candidate.role): { email: string; name: string; role: string; onBehalfOf?: { email: string; name: string } } {
  return { email: candidate.email, name: candidate.name, role, ...(candidate.onBehalfOf ? { onBehalfOf: candidate.onBehalfOf } : {}) };
}

/** Duties as an activity's input carries them (a Map does not survive the payload converter). */
export type SerializedDuties = Omit<DutiesContext, 'decided'> & { decided: Array<[string, { stepId: string; stepTitle: string }]> };

export function serializeDuties(context: DutiesContext): SerializedDuties {
  return { ...context, decided: [...context.decided.entries()] };
}

export function dutiesOf(serialized: SerializedDuties): DutiesContext {
  return { ...serialized, decided: new Map(serialized.decided) };
}
