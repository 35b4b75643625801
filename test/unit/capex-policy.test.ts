import { describe, expect, it } from 'vitest';
import { capexApprovalChain, capexInputSchema, capexSettingsSchema } from '../../processes/capex.js';
import { durationMs } from '../../processes/duration.js';
import { capexInput } from '../support/fixtures.js';

const defaults = capexSettingsSchema.parse({});
const steps = (amount: number, settings = defaults) => capexApprovalChain({ amount }, settings).map((s) => s.stepId);

describe('capex approval chain', () => {
  it('grows with the amount at the default thresholds', () => {
    expect(steps(9_999.99)).toEqual(['line-manager']);
    expect(steps(10_000)).toEqual(['line-manager', 'finance-director']);
    expect(steps(99_999.99)).toEqual(['line-manager', 'finance-director']);
    expect(steps(100_000)).toEqual(['line-manager', 'finance-director', 'cfo']);
  });

  it('follows configured thresholds and refuses inverted ones', () => {
    const custom = capexSettingsSchema.parse({ thresholds: { financeDirectorFrom: 500, cfoFrom: 5_000 } });
    expect(steps(600, custom)).toEqual(['line-manager', 'finance-director']);
    expect(steps(5_000, custom)).toEqual(['line-manager', 'finance-director', 'cfo']);
    const inverted = capexSettingsSchema.safeParse({ thresholds: { financeDirectorFrom: 50_000, cfoFrom: 1_000 } });
    expect(inverted.success).toBe(false);
    expect(inverted.error?.issues[0]?.path).toEqual(['thresholds', 'cfoFrom']);
  });

  it('layers step timing: defaults, then all steps, then one step', () => {
    const settings = capexSettingsSchema.parse({ approval: { timeout: '4h' }, steps: { cfo: { timeout: '1d', onTimeout: 'expire' } } });
    const [manager, , cfo] = capexApprovalChain({ amount: 200_000 }, settings);
    expect(manager?.timing).toMatchObject({ timeout: '4h', reminderAfter: '1d', onTimeout: 'escalate' });
    expect(cfo?.timing).toMatchObject({ timeout: '1d', onTimeout: 'expire' });
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
