import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * What an approver is shown about a run (label/value pairs from the process's `describe`) and the version that
 * binds a decision to it. Pure and free of Node built-ins: the workflow, the API and the activities compute the
 * same version from the same input, so a decision on anything else can be refused wherever it arrives.
 */
export interface Fact {
  label: string;
  value: string;
}

export interface FactChange {
  label: string;
  /** null when the fact was not shown before (or is no longer shown). */
  before: string | null;
  after: string | null;
}

/** JSON with object keys sorted at every level, no whitespace; undefined members dropped as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/** The version of what an approver sees: SHA-256 over the facts shown and the input behind them. */
export function factsVersion(facts: Fact[], input: unknown): string {
  return sha256Hex(canonicalJson({ v: 1, facts, input }));
}

/** The first 12 hex digits: enough to tell versions apart on a page, and what people read out to each other. */
export function shortVersion(version: string): string {
  return version.slice(0, 12);
}

/** Fact by fact, old value → new value, in the order the facts are shown now (removed ones last). */
export function diffFacts(before: Fact[], after: Fact[]): FactChange[] {
  const old = new Map(before.map((f) => [f.label, f.value]));
  const now = new Map(after.map((f) => [f.label, f.value]));
  const changes: FactChange[] = [];
  for (const fact of after) {
    const previous = old.get(fact.label) ?? null;
    if (previous !== fact.value) changes.push({ label: fact.label, before: previous, after: fact.value });
  }
  for (const fact of before) if (!now.has(fact.label)) changes.push({ label: fact.label, before: fact.value, after: null });
  return changes;
}
