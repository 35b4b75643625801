import type { CapexInput } from '../../processes/capex.js';
import type { LaunchReadinessInput } from '../../processes/launch-readiness.js';

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

/** A launch whose go/no-go cut-off is `cutoffInMs` from now (the tests' clock), checked by the demo org's departments. */
export function launchInput(cutoffInMs: number, overrides: Partial<LaunchReadinessInput> = {}): LaunchReadinessInput {
  return {
    title: 'Trail runner 2 launch',
    product: 'Trail runner 2',
    launchDate: '2027-03-01',
    campaign: 'Spring outdoors',
    expectedDemand: 5_000,
    cutoffAt: new Date(Date.now() + cutoffInMs).toISOString(),
    requester: { name: 'Alex Rivera', email: 'alex.rivera@example.com' },
    ...overrides,
  };
}

/** Who holds each launch-readiness group in the demo org (dev/demo-org.ts), and the supply planner's manager. */
export const checkers = {
  marketing: ['leo.martin@example.com', 'mia.santos@example.com'],
  production: 'hana.suzuki@example.com',
  supply: 'noah.becker@example.com',
  supplyManager: 'kim.park@example.com',
  customerService: 'ella.novak@example.com',
  finance: 'ravi.patel@example.com',
  coo: 'dana.whitfield@example.com',
} as const;
