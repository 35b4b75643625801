import { createHash } from 'node:crypto';

/**
 * The audit log as hash chains: one chain per run (chain = run id) and one for entries about no run (`org`:
 * directory, delegations). Entry n stores hash_n = SHA-256(hash_{n-1} + "\n" + canonicalJson(content_n)), so
 * changing, removing, inserting or reordering an entry breaks every link after it. Pure functions only: the
 * database side (numbering under a lock) is insertAuditEntry in lib/outbound-webhooks.ts.
 */

/** What the first chained entry of a chain links to. */
export const GENESIS_HASH = '0'.repeat(64);
/** The chain of entries that belong to no run. */
export const ORG_CHAIN = 'org';
/** Bumped if the content below ever changes shape, so old entries still verify under their own version. */
export const AUDIT_CONTENT_VERSION = 1;

export function chainOf(runId: string | null | undefined): string {
  return runId ?? ORG_CHAIN;
}

/**
 * JSON with object keys sorted recursively (by UTF-16 code units, as RFC 8785 does) and no whitespace. Values are
 * first taken through a JSON round trip, so `undefined` members, `toJSON` (dates) and non-finite numbers come out
 * as JSON.stringify has them; for what jsonb can store this matches RFC 8785 (JCS).
 */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? 'null' : write(JSON.parse(text));
}

function write(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
  const object = value as Record<string, unknown>;
  return `{${Object.keys(object)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${write(object[key])}`)
    .join(',')}}`;
}

/** The stored fields an entry's hash covers (everything but the database id and the hashes themselves). */
export interface ChainedFields {
  chain: string;
  seq: number;
  eventKey: string | null;
  runId: string | null;
  at: Date;
  action: string;
  actor: string;
  onBehalfOf: string | null;
  step: string | null;
  ip: string | null;
  userAgent: string | null;
  details: unknown;
}

/** What details look like after a trip through jsonb: plain JSON (no undefined members, dates as strings). */
export function normaliseDetails(details: unknown): unknown {
  const text = JSON.stringify(details ?? {});
  return JSON.parse(text) as unknown;
}

export function entryContent(fields: ChainedFields) {
  return {
    v: AUDIT_CONTENT_VERSION,
    chain: fields.chain,
    seq: fields.seq,
    eventKey: fields.eventKey ?? null,
    runId: fields.runId ?? null,
    at: fields.at.toISOString(),
    action: fields.action,
    actor: fields.actor,
    onBehalfOf: fields.onBehalfOf ?? null,
    step: fields.step ?? null,
    ip: fields.ip ?? null,
    userAgent: fields.userAgent ?? null,
    details: normaliseDetails(fields.details),
  };
}

/** SHA-256, lowercase hex, of the previous entry's hash and this entry's canonical content. */
export function entryHash(prevHash: string, fields: ChainedFields): string {
  return createHash('sha256').update(`${prevHash}\n${canonicalJson(entryContent(fields))}`).digest('hex');
}

/** An entry as read back for verification: its stored fields and stored hashes. */
export interface StoredEntry extends ChainedFields {
  id: bigint | string;
  prevHash: string | null;
  hash: string | null;
}

export type BrokenCheck = 'content' | 'link' | 'sequence' | 'unhashed';

export interface BrokenEntry {
  id: string;
  seq: number;
  action: string;
  at: string;
  /** Which check failed, for programs; `reason` says it in words. */
  check: BrokenCheck;
  reason: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Every entry of the chain, legacy ones included. */
  entries: number;
  /** Entries written before chaining began: numbered, not hashed, so nothing vouches for their content. */
  legacy: number;
  /** The last chained entry: copy its hash elsewhere to anchor the chain (see README, Audit evidence). */
  head: { seq: number; hash: string } | null;
  firstBroken: BrokenEntry | null;
}

const reasons: Record<BrokenCheck, (expectedSeq: number, entry: StoredEntry) => string> = {
  content: () => "the entry's content does not match its hash: it was changed after it was written",
  link: () =>
    "the entry's prevHash does not match the hash of the entry before it: an entry before it was removed, inserted or reordered",
  sequence: (expected, entry) => `sequence gap: expected seq ${expected}, found ${entry.seq}`,
  unhashed: () => 'the entry has no hash although entries before it are chained: its hash was removed or it was written around the chain',
};

/**
 * Checks a chain entry by entry, in seq order, so a long chain never has to sit in memory: `add` each entry,
 * then read `result()`. The first failure is kept; later entries are still counted.
 */
export class ChainVerifier {
  private entries = 0;
  private legacy = 0;
  private head: { seq: number; hash: string } | null = null;
  private firstBroken: BrokenEntry | null = null;

  add(entry: StoredEntry): void {
    this.entries += 1;
    if (this.firstBroken) return;
    const expectedSeq = this.entries;
    const failed = this.check(entry, expectedSeq);
    if (failed) {
      this.firstBroken = {
        id: String(entry.id),
        seq: entry.seq,
        action: entry.action,
        at: entry.at.toISOString(),
        check: failed,
        reason: reasons[failed](expectedSeq, entry),
      };
      return;
    }
    if (entry.hash === null) this.legacy += 1;
    else this.head = { seq: entry.seq, hash: entry.hash };
  }

  private check(entry: StoredEntry, expectedSeq: number): BrokenCheck | null {
    if (entry.hash === null) {
      // Legacy entries come first; once the chain has started, a missing hash is tampering.
      if (this.head) return 'unhashed';
      return entry.seq === expectedSeq ? null : 'sequence';
    }
    if (entry.prevHash === null || entryHash(entry.prevHash, entry) !== entry.hash) return 'content';
    if (entry.prevHash !== (this.head?.hash ?? GENESIS_HASH)) return 'link';
    if (entry.seq !== expectedSeq) return 'sequence';
    return null;
  }

  result(): ChainVerification {
    return { ok: this.firstBroken === null, entries: this.entries, legacy: this.legacy, head: this.head, firstBroken: this.firstBroken };
  }
}

/** Verifies a whole chain given in seq order. */
export function verifyChain(entries: Iterable<StoredEntry>): ChainVerification {
  const verifier = new ChainVerifier();
  for (const entry of entries) verifier.add(entry);
  return verifier.result();
}
