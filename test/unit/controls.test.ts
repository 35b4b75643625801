import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mergePolicy } from '../../lib/policy-store.js';
import { candidateConflict, firstEligible, materialChangesBetween, type Candidate, type DutiesContext } from '../../processes/controls.js';
import { canonicalJson, diffFacts, factsVersion, sha256Hex } from '../../processes/facts.js';
import { rolesNamedIn } from '../../processes/policy.js';

const context = (overrides: Partial<DutiesContext> = {}): DutiesContext => ({
  requesterEmail: 'alex.rivera@example.com',
  startedBy: 'ops.desk@example.com',
  onePersonOneStep: true,
  decided: new Map([['morgan.lee@example.com', { stepId: 'line-manager', stepTitle: 'Line manager approval' }]]),
  ...overrides,
});
const person = (email: string, extra: Partial<Candidate> = {}): Candidate => ({ email, name: email.split('@')[0]!, role: 'role:x', ...extra });

describe('separation of duties', () => {
  it('passes over the requester, the starter and whoever decided another step, in the directory’s order', () => {
    const { chosen, skipped } = firstEligible(
      [person('Alex.Rivera@example.com'), person('ops.desk@example.com'), person('morgan.lee@example.com'), person('dana.whitfield@example.com')],
      'finance-director',
      context(),
      [],
    );
    expect(chosen?.email).toBe('dana.whitfield@example.com');
    expect(skipped.map((s) => s.reason)).toEqual(['is the requester of this run', 'started this run', 'already decided "Line manager approval" on this run']);
  });

  it('lets the same person decide the same step again (re-approval), and everything when the policy allows', () => {
    expect(firstEligible([person('morgan.lee@example.com')], 'line-manager', context(), []).chosen?.email).toBe('morgan.lee@example.com');
    expect(firstEligible([person('morgan.lee@example.com')], 'cfo', context({ onePersonOneStep: false }), []).chosen?.email).toBe('morgan.lee@example.com');
  });

  it('holds a delegate to the conflicts of the person they stand in for', () => {
    const forAlex = person('casey.nguyen@example.com', { onBehalfOf: { email: 'alex.rivera@example.com', name: 'Alex Rivera' } });
    expect(candidateConflict(forAlex, 'line-manager', context())).toBe('stands in for Alex Rivera, who is the requester of this run');
    expect(candidateConflict(person('x@example.com', { unavailable: 'is away' }), 'line-manager', context())).toBe('is away');
  });

  it('never seats one person twice in a step, and reports nobody eligible', () => {
    const { chosen, skipped } = firstEligible([person('dana.whitfield@example.com'), person('alex.rivera@example.com')], 'review', context(), [{ email: 'dana.whitfield@example.com' }]);
    expect(chosen).toBeUndefined();
    expect(skipped.map((s) => s.reason)).toEqual(['already holds another seat of this step', 'is the requester of this run']);
  });
});

describe('material changes', () => {
  const rules = [
    { field: 'amount', when: 'increased' as const },
    { field: 'vendor', when: 'changed' as const },
    { field: 'details.bank', when: 'changed' as const },
  ];
  it('counts a larger amount, any change of the other fields, and nested objects whatever their key order', () => {
    const before = { amount: 25_000, vendor: 'Trumpf', justification: 'old', details: { bank: { iban: 'DE1', bic: 'X' } } };
    expect(materialChangesBetween(rules, before, { ...before, amount: 20_000, justification: 'typo fixed' })).toEqual([]);
    expect(materialChangesBetween(rules, before, { ...before, amount: 99_000, vendor: 'Trumpf Premium' })).toEqual(['amount', 'vendor']);
    expect(materialChangesBetween(rules, before, { ...before, details: { bank: { bic: 'X', iban: 'DE1' } } })).toEqual([]);
    expect(materialChangesBetween(rules, before, { ...before, details: { bank: { bic: 'X', iban: 'DE2' } } })).toEqual(['details.bank']);
    expect(materialChangesBetween(rules, { amount: 1 }, { amount: 1, details: { bank: {} } })).toEqual(['details.bank']);
  });
});

describe('decision versions', () => {
  it('are SHA-256 over the canonical facts and input, the same whatever the key order', () => {
    const facts = [{ label: 'Amount', value: '25,000.00 EUR' }];
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
    expect(factsVersion(facts, { vendor: 'Trumpf', amount: 25_000 })).toBe(factsVersion(facts, { amount: 25_000, vendor: 'Trumpf' }));
    expect(factsVersion(facts, { amount: 25_000 })).not.toBe(factsVersion(facts, { amount: 25_001 }));
    expect(sha256Hex('héllo ✓')).toBe(createHash('sha256').update('héllo ✓').digest('hex'));
  });

  it('diff fact by fact, old → new, with facts that appeared or went away', () => {
    const before = [{ label: 'Amount', value: '25,000.00 EUR' }, { label: 'Vendor', value: 'Trumpf' }, { label: 'Note', value: 'x' }];
    const after = [{ label: 'Amount', value: '99,000.00 EUR' }, { label: 'Vendor', value: 'Trumpf' }, { label: 'Bank', value: 'DE1' }];
    expect(diffFacts(before, after)).toEqual([
      { label: 'Amount', before: '25,000.00 EUR', after: '99,000.00 EUR' },
      { label: 'Bank', before: null, after: 'DE1' },
      { label: 'Note', before: 'x', after: null },
    ]);
  });
});

describe('policy helpers', () => {
  it('merge per-run settings over the stored policy: objects key by key, arrays replaced', () => {
    const stored = { approval: { timeout: '3d', reminderAfter: '1d' }, steps: { cfo: { approvers: ['role:cfo'] } } };
    expect(mergePolicy(stored, { approval: { timeout: '2h' }, steps: { cfo: { approvers: ['role:coo'] } } })).toEqual({
      approval: { timeout: '2h', reminderAfter: '1d' },
      steps: { cfo: { approvers: ['role:coo'] } },
    });
  });

  it('find every role a policy names, with its path, leaving placeholders to the process', () => {
    expect(rolesNamedIn({ steps: { a: { approvers: ['role:cfo', 'manager-of-requester', 'each-role:director'] }, b: { approvers: ['role:department-head:{department}'] } } })).toEqual([
      { role: 'cfo', path: ['steps', 'a', 'approvers', 0] },
      { role: 'director', path: ['steps', 'a', 'approvers', 2] },
    ]);
  });
});
