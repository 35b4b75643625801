import { describe, expect, it } from 'vitest';
import { demoOrg } from '../../dev/demo-org.js';

/** The demo org seeds every test database: two entries for one address silently keep only the first (skipDuplicates). */
describe('the demo org', () => {
  it('has one entry per e-mail address, and every manager is in it', () => {
    const emails = demoOrg.map((person) => person.email);
    expect(emails.filter((email, i) => emails.indexOf(email) !== i)).toEqual([]);
    const missingManagers = demoOrg.filter((person) => person.managerEmail && !emails.includes(person.managerEmail)).map((person) => person.email);
    expect(missingManagers).toEqual([]);
  });
});
