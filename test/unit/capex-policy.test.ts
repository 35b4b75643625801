import { describe, expect, it } from 'vitest';
import { capexApprovalChain, capexInputSchema, capexPolicySchema } from '../../processes/capex.js';
import { durationMs } from '../../processes/duration.js';
import { productionLimits, shortDurationLimits } from '../../processes/policy.js';
import { capexInput } from '../support/fixtures.js';

const capexPolicy = capexPolicySchema(productionLimits);
const defaults = capexPolicy.parse({});
const steps = (amount: number, settings = defaults) => capexApprovalChain({ amount }, settings).map((s) => s.stepId);

describe('capex approval chain', () => {
  it('grows with the amount at the default thresholds', () => {
    expect(steps(9_999.99)).toEqual(['line-manager']);
    expect(steps(10_000)).toEqual(['line-manager', 'finance-director']);
    expect(steps(99_999.99)).toEqual(['line-manager', 'finance-director']);
    expect(steps(100_000)).toEqual(['line-manager', 'finance-director', 'cfo']);
  });

  it('follows configured thresholds and refuses inverted ones', () => {
    const custom = capexPolicy.parse({ thresholds: { financeDirectorFrom: 500, cfoFrom: 5_000 } });
    expect(steps(600, custom)).toEqual(['line-manager', 'finance-director']);
    expect(steps(5_000, custom)).toEqual(['line-manager', 'finance-director', 'cfo']);
    const inverted = capexPolicy.safeParse({ thresholds: { financeDirectorFrom: 50_000, cfoFrom: 1_000 } });
    expect(inverted.success).toBe(false);
    expect(inverted.error?.issues[0]?.path).toEqual(['thresholds', 'cfoFrom']);
  });

  it('layers step timing: defaults, then all steps, then one step', () => {
    const settings = capexPolicy.parse({ approval: { timeout: '4h' }, steps: { cfo: { timeout: '1d', onTimeout: 'expire' } } });
    const [manager, , cfo] = capexApprovalChain({ amount: 200_000 }, settings);
    expect(manager?.timing).toMatchObject({ timeout: '4h', reminderAfter: '1d', onTimeout: 'escalate' });
    expect(cfo?.timing).toMatchObject({ timeout: '1d', onTimeout: 'expire' });
  });
});

describe('capex policy bounds', () => {
  const issues = (policy: unknown, schema = capexPolicy) => {
    const parsed = schema.safeParse(policy);
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('names each step’s approvers in the policy, with the defaults a company starts from', () => {
    expect(capexApprovalChain({ amount: 200_000 }, defaults).map((s) => s.approvers)).toEqual([['manager-of-requester'], ['role:finance-director'], ['role:cfo']]);
    expect(defaults.separationOfDuties).toEqual({ onePersonOneStep: true });
    expect(defaults.materialChanges.map((r) => `${r.field}:${r.when}`)).toEqual(['amount:increased', 'currency:changed', 'vendor:changed', 'category:changed']);
  });

  it('keeps reminders and SLAs at an hour or more in production, seconds only when short durations are allowed', () => {
    expect(issues({ approval: { reminderAfter: '1ms' } })).toEqual(['approval.reminderAfter: must be at least 1h']);
    expect(issues({ steps: { cfo: { timeout: '59m' } } })).toEqual(['steps.cfo.timeout: must be at least 1h']);
    expect(issues({ approval: { reminderAfter: '2s', timeout: '5s', escalationTimeout: '4s' } }, capexPolicySchema(shortDurationLimits))).toEqual([]);
    expect(issues({ approval: { reminderAfter: '1ms' } }, capexPolicySchema(shortDurationLimits))).toEqual(['approval.reminderAfter: must be at least 1s']);
  });

  it('escalates only to a role or up the manager chain, never to a named person', () => {
    expect(issues({ approval: { escalateTo: 'person:alex.rivera@example.com' } })[0]).toMatch(/^approval\.escalateTo: must be "manager-of-approver" or "role:<role>"/);
    expect(issues({ approval: { escalateTo: 'role:coo' } })).toEqual([]);
  });

  it('approves at the deadline only under an amount limit', () => {
    expect(issues({ approval: { onTimeout: 'approve' } })).toEqual(['approval.approveAtDeadlineBelow: is required when onTimeout is "approve"']);
    expect(issues({ steps: { 'line-manager': { onTimeout: 'approve' } } })).toEqual(['steps.line-manager.approveAtDeadlineBelow: is required when onTimeout is "approve"']);
    expect(issues({ steps: { 'line-manager': { onTimeout: 'approve', approveAtDeadlineBelow: 1_000 } } })).toEqual([]);
    expect(issues({ approval: { onTimeout: 'reject' } })).toEqual([]);
  });

  it('names material fields of the input only', () => {
    expect(issues({ materialChanges: [{ field: 'amount', when: 'increased' }, { field: 'justification' }] })).toEqual([]);
    expect(issues({ materialChanges: [{ field: 'colour' }] })[0]).toMatch(/^materialChanges\.0\.field: must be one of title, amount/);
  });
});

describe('capex input', () => {
  it('accepts a complete request and normalises whitespace', () => {
    const parsed = capexInputSchema.parse({ ...capexInput(), vendor: '  DMG Mori  ' });
    expect(parsed.vendor).toBe('DMG Mori');
  });

  it.each([
    [{ amount: 0 }, 'amount'],
    [{ amount: 10.001 }, 'amount'],
    [{ currency: 'EURO' }, 'currency'],
    [{ category: 'snacks' }, 'category'],
    [{ justification: 'short' }, 'justification'],
  ])('refuses %j at %s', (override, path) => {
    const parsed = capexInputSchema.safeParse({ ...capexInput(), ...override });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual([path]);
  });

  it('accepts cents that floating point cannot represent exactly', () => {
    expect(capexInputSchema.safeParse({ ...capexInput(), amount: 0.29 }).success).toBe(true);
    expect(capexInputSchema.safeParse({ ...capexInput(), amount: 1234567.89 }).success).toBe(true);
  });
});

describe('durations', () => {
  it('converts the units processes use', () => {
    expect(durationMs('250ms')).toBe(250);
    expect(durationMs('90s')).toBe(90_000);
    expect(durationMs('15m')).toBe(900_000);
    expect(durationMs('2h')).toBe(7_200_000);
    expect(durationMs('3d')).toBe(259_200_000);
    expect(() => durationMs('soon')).toThrow(/Not a duration/);
  });
});
