import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, entryHash, GENESIS_HASH, verifyChain, type ChainedFields, type StoredEntry } from '../../lib/audit-chain.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Appends entries as insertAuditEntry does: next seq, linked to the previous hash. */
function buildChain(chain: string, count: number, legacy = 0): StoredEntry[] {
  const entries: StoredEntry[] = [];
  for (let i = 0; i < count; i++) {
    const seq = i + 1;
    const fields: ChainedFields = {
      chain,
      seq,
      eventKey: `${chain}:step-${seq}`,
      runId: chain,
      at: new Date(Date.UTC(2026, 11, 1, 10, 0, seq, 123)),
      action: seq === 1 ? 'run.started' : 'approval.decided',
      actor: `approver-${seq}@example.com`,
      onBehalfOf: null,
      step: `step-${seq}`,
      ip: '203.0.113.7',
      userAgent: 'vitest',
      details: { comment: `comment ${seq}`, amounts: [seq, seq * 1.5] },
    };
    if (seq <= legacy) {
      entries.push({ ...fields, id: BigInt(seq), prevHash: null, hash: null });
      continue;
    }
    const prevHash = entries.at(-1)?.hash ?? GENESIS_HASH;
    entries.push({ ...fields, id: BigInt(seq), prevHash, hash: entryHash(prevHash, fields) });
  }
  return entries;
}

describe('canonicalJson', () => {
  it('sorts object keys at every depth, keeps array order and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('gives what a JSON round trip gives: no undefined members, dates as ISO strings, unicode kept', () => {
    expect(canonicalJson({ gone: undefined, at: new Date('2026-12-01T10:00:00.5Z'), name: 'Zoë\n"quoted"' })).toBe(
      '{"at":"2026-12-01T10:00:00.500Z","name":"Zoë\\n\\"quoted\\""}',
    );
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('does not depend on the order keys were written in (jsonb reorders them)', () => {
    expect(canonicalJson({ x: 1, y: { b: 2, a: 1 } })).toBe(canonicalJson({ y: { a: 1, b: 2 }, x: 1 }));
  });
});

describe('entryHash', () => {
  const fields: ChainedFields = {
    chain: 'capex-1',
    seq: 2,
    eventKey: 'capex-1:line-manager:decided',
    runId: 'capex-1',
    at: new Date('2026-12-01T10:00:00.123Z'),
    action: 'approval.decided',
    actor: 'morgan.lee@example.com',
    onBehalfOf: null,
    step: 'line-manager',
    ip: '203.0.113.7',
    userAgent: null,
    details: { decision: 'approved', comment: 'ok' },
  };

  it('is the SHA-256 of the previous hash, a newline and the canonical content, spelled out here', () => {
    const content =
      '{"action":"approval.decided","actor":"morgan.lee@example.com","at":"2026-12-01T10:00:00.123Z","chain":"capex-1",' +
      '"details":{"comment":"ok","decision":"approved"},"eventKey":"capex-1:line-manager:decided","ip":"203.0.113.7",' +
      '"onBehalfOf":null,"runId":"capex-1","seq":2,"step":"line-manager","userAgent":null,"v":1}';
    expect(entryHash(GENESIS_HASH, fields)).toBe(sha256(`${'0'.repeat(64)}\n${content}`));
    expect(entryHash(GENESIS_HASH, fields)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes when any covered field or the previous hash changes', () => {
    const base = entryHash(GENESIS_HASH, fields);
    const variants: Array<Partial<ChainedFields>> = [
      { chain: 'capex-2' }, { seq: 3 }, { eventKey: null }, { runId: null }, { at: new Date('2026-12-01T10:00:00.124Z') },
      { action: 'approval.requested' }, { actor: 'someone@example.com' }, { onBehalfOf: 'x@example.com' }, { step: null },
      { ip: null }, { userAgent: 'curl' }, { details: { decision: 'approved', comment: 'ok!' } },
    ];
    for (const variant of variants) expect(entryHash(GENESIS_HASH, { ...fields, ...variant }), JSON.stringify(variant)).not.toBe(base);
    expect(entryHash('f'.repeat(64), fields)).not.toBe(base);
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain and reports its head', () => {
    const chain = buildChain('capex-1', 5);
    expect(verifyChain(chain)).toEqual({ ok: true, entries: 5, legacy: 0, head: { seq: 5, hash: chain[4]!.hash }, firstBroken: null });
    expect(verifyChain([])).toEqual({ ok: true, entries: 0, legacy: 0, head: null, firstBroken: null });
  });

  it('names an entry whose content was changed after it was written', () => {
    const chain = buildChain('capex-1', 5);
    chain[2] = { ...chain[2]!, details: { comment: 'edited later', amounts: [3, 4.5] } };
    const result = verifyChain(chain);
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(5);
    expect(result.firstBroken).toMatchObject({ id: '3', seq: 3, action: 'approval.decided', check: 'content', at: '2026-12-01T10:00:03.123Z' });
    expect(result.firstBroken?.reason).toMatch(/does not match its hash.*changed after it was written/);
  });

  it('names the entry after a removed one', () => {
    const chain = buildChain('capex-1', 5);
    chain.splice(2, 1);
    expect(verifyChain(chain).firstBroken).toMatchObject({ seq: 4, check: 'link', reason: expect.stringMatching(/prevHash.*removed, inserted or reordered/) });
  });

  it('names a reordered entry, and one forged with a hash of its own that links elsewhere', () => {
    const chain = buildChain('capex-1', 5);
    expect(verifyChain([chain[0]!, chain[1]!, chain[3]!, chain[2]!, chain[4]!]).firstBroken).toMatchObject({ seq: 4, check: 'link' });
    const forgedFields = { ...chain[2]!, actor: 'mallory@example.com' };
    const forged = { ...forgedFields, hash: entryHash(GENESIS_HASH, forgedFields), prevHash: GENESIS_HASH };
    expect(verifyChain([chain[0]!, chain[1]!, forged, chain[3]!, chain[4]!]).firstBroken).toMatchObject({ seq: 3, check: 'link' });
  });

  it('makes a rewrite of one entry, rehashed, show at the next entry: the whole tail would have to be rewritten', () => {
    const chain = buildChain('capex-1', 5);
    const rewritten = { ...chain[2]!, actor: 'mallory@example.com' };
    chain[2] = { ...rewritten, hash: entryHash(rewritten.prevHash!, rewritten) };
    expect(verifyChain(chain).firstBroken).toMatchObject({ seq: 4, check: 'link' });
  });

  it('counts legacy entries written before chaining, and the chain after them starts at the genesis value', () => {
    const chain = buildChain('capex-1', 5, 2);
    expect(chain[2]!.prevHash).toBe(GENESIS_HASH);
    expect(verifyChain(chain)).toMatchObject({ ok: true, entries: 5, legacy: 2, head: { seq: 5 } });
    expect(verifyChain(buildChain('capex-1', 2, 2))).toEqual({ ok: true, entries: 2, legacy: 2, head: null, firstBroken: null });
  });

  it('names a removed legacy entry by the sequence gap, and a chained entry whose hash was removed', () => {
    const withLegacy = buildChain('capex-1', 5, 2);
    expect(verifyChain(withLegacy.slice(1)).firstBroken).toMatchObject({ seq: 2, check: 'sequence', reason: 'sequence gap: expected seq 1, found 2' });
    const chain = buildChain('capex-1', 5);
    chain[3] = { ...chain[3]!, hash: null };
    expect(verifyChain(chain).firstBroken).toMatchObject({ seq: 4, check: 'unhashed' });
  });

  it('names a sequence gap even where hashes and links agree (a writer skipped a number)', () => {
    const chain = buildChain('capex-1', 2);
    const skipped: ChainedFields = { ...chain[1]!, seq: 4 };
    const third = { ...skipped, id: 3n, prevHash: chain[1]!.hash, hash: entryHash(chain[1]!.hash!, skipped) };
    expect(verifyChain([...chain, third]).firstBroken).toMatchObject({ seq: 4, check: 'sequence', reason: 'sequence gap: expected seq 3, found 4' });
  });
});
