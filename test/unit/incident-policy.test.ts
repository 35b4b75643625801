import { describe, expect, it } from 'vitest';
import { incidentPolicySchema } from '../../processes/incident.js';
import { onCallIndex, pagingChain, stakeholderRefs } from '../../processes/incident-flow.js';
import { productionLimits, shortDurationLimits } from '../../processes/policy.js';

const defaults = incidentPolicySchema(productionLimits).parse({});
const issues = (limits: typeof productionLimits, policy: unknown) => {
  const parsed = incidentPolicySchema(limits).safeParse(policy);
  return parsed.success ? [] : parsed.error.issues.map((i) => [i.path.join('.'), i.message]);
};

describe('incident policy', () => {
  it('keeps a page minutes long in production and lets tests and demos use seconds', () => {
    expect(issues(productionLimits, { severities: { sev1: { acknowledgeWithin: '30s', statusEvery: '4m' } } })).toEqual([
      ['severities.sev1.acknowledgeWithin', 'must be at least 5m'],
      ['severities.sev1.statusEvery', 'must be at least 5m'],
    ]);
    expect(issues(productionLimits, { severities: { sev1: { acknowledgeWithin: '5m', statusEvery: '15m' } } })).toEqual([]);
    expect(issues(shortDurationLimits, { severities: { sev1: { acknowledgeWithin: '1s', statusEvery: '2s' } } })).toEqual([]);
    // The tasks' due time stays an SLA: an hour or more in production.
    expect(issues(productionLimits, { severities: { sev2: { tasksDueWithin: '30m' } } })).toEqual([['severities.sev2.tasksDueWithin', 'must be at least 1h']]);
  });

  it('names who is paged and told by role, person, the next on the rota or the area’s head, and nothing else', () => {
    expect(issues(productionLimits, { severities: { sev3: { escalation: ['next-on-rota', 'manager-of-requester'], stakeholders: ['next-on-rota'] } }, areas: { supply: { rota: [] } } })).toEqual([
      ['areas.supply.rota', 'needs at least one person on call'],
      ['severities.sev3.stakeholders.0', 'must be "area-head", "role:<role>" or "person:<e-mail>"'],
      ['severities.sev3.escalation.1', 'must be "next-on-rota", "area-head", "role:<role>" or "person:<e-mail>"'],
    ]);
  });

  it('pages the one whose shift it is, then the severity’s chain with the next on the rota and the area’s head filled in', () => {
    const supply = { ...defaults.areas.supply, rota: ['person:a@x.test', 'person:b@x.test', 'person:c@x.test'] };
    expect(pagingChain('supply', supply, defaults.severities.sev1, Date.now())).toEqual([
      { ref: 'person:a@x.test', as: 'on call for supply' },
      { ref: 'person:b@x.test', as: 'next on the supply rota' },
      { ref: 'role:department-head:supply', as: 'head of supply' },
      { ref: 'role:coo', as: 'coo' },
    ]);
    // Weekly shifts from a Monday: in the third week the third person is on call, and the next one is the first.
    const rotating = { ...supply, rotation: { startsAt: '2027-01-04T08:00:00Z', every: '7d' as const } };
    const thirdWeek = Date.parse('2027-01-19T10:00:00Z');
    expect(onCallIndex(rotating, thirdWeek)).toBe(2);
    expect(pagingChain('supply', rotating, { escalation: ['next-on-rota'] }, thirdWeek).map((level) => level.ref)).toEqual(['person:c@x.test', 'person:a@x.test']);
    // Before the rotation began the count runs backwards round the rota, never off it.
    expect(onCallIndex(rotating, Date.parse('2027-01-03T10:00:00Z'))).toBe(2);
  });

  it('sends the status updates to each stakeholder once, the area’s head by its role', () => {
    expect(stakeholderRefs(defaults.areas.production, defaults.severities.sev1)).toEqual(['role:coo', 'role:department-head:production', 'role:cfo']);
    expect(stakeholderRefs({ head: 'role:coo' }, { stakeholders: ['role:coo', 'area-head'] })).toEqual(['role:coo']);
  });
});
