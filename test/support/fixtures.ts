import type { CapexInput } from '../../processes/capex.js';

export function capexInput(overrides: Partial<CapexInput> = {}): CapexInput {
  return {
    title: 'Five-axis CNC machine for line 3',
    amount: 250_000,
    currency: 'EUR',
    costCenter: 'OPS-310',
    category: 'equipment',
    vendor: 'DMG Mori',
    justification: 'Line 3 runs at 140% of its capacity.\nThe new machine removes the weekend shifts.',
    requester: { name: 'Alex Rivera', email: 'alex.rivera@example.com' },
    ...overrides,
  };
}

/** Settings short enough for tests: nobody waits days for a reminder. */
export const quickTiming = {
  approval: { reminderAfter: '1h', timeout: '2h', escalationTimeout: '1h' },
} as const;

export const approvers = {
  lineManager: 'morgan.lee@example.com',
  financeDirector: 'priya.shah@example.com',
  cfo: 'sam.okafor@example.com',
  coo: 'dana.whitfield@example.com',
  requester: 'alex.rivera@example.com',
} as const;
