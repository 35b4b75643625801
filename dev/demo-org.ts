import type { Db } from '../lib/db.js';

export interface DemoPerson {
  email: string;
  name: string;
  department: string;
  managerEmail?: string;
  roles: string[];
  /** Not a user of the simulated Slack workspace: what reaches them is mail only. */
  noSlack?: true;
}

/** A small company: enough people for every capex step, escalation and role in the demo and the tests. */
export const demoOrg: DemoPerson[] = [
  { email: 'jordan.blake@example.com', name: 'Jordan Blake', department: 'Executive', roles: ['ceo'] },
  { email: 'sam.okafor@example.com', name: 'Sam Okafor', department: 'Finance', managerEmail: 'jordan.blake@example.com', roles: ['cfo', 'director'] },
  { email: 'dana.whitfield@example.com', name: 'Dana Whitfield', department: 'Operations', managerEmail: 'jordan.blake@example.com', roles: ['coo', 'director', 'department-head:operations'] },
  { email: 'riley.chen@example.com', name: 'Riley Chen', department: 'Sales', managerEmail: 'jordan.blake@example.com', roles: ['director', 'department-head:sales'] },
  { email: 'lena.fischer@example.com', name: 'Lena Fischer', department: 'Legal', managerEmail: 'jordan.blake@example.com', roles: ['legal'] },
  { email: 'omar.haddad@example.com', name: 'Omar Haddad', department: 'IT', managerEmail: 'sam.okafor@example.com', roles: ['security'] },
  { email: 'priya.shah@example.com', name: 'Priya Shah', department: 'Finance', managerEmail: 'sam.okafor@example.com', roles: ['finance-director'] },
  { email: 'morgan.lee@example.com', name: 'Morgan Lee', department: 'Operations', managerEmail: 'dana.whitfield@example.com', roles: ['line-manager'] },
  { email: 'alex.rivera@example.com', name: 'Alex Rivera', department: 'Operations', managerEmail: 'morgan.lee@example.com', roles: [] },
  { email: 'ops.desk@example.com', name: 'Ops Desk', department: 'Operations', managerEmail: 'dana.whitfield@example.com', roles: ['ops'] },
  { email: 'casey.nguyen@example.com', name: 'Casey Nguyen', department: 'Operations', managerEmail: 'morgan.lee@example.com', roles: [] },
  { email: 'taylor.brooks@example.com', name: 'Taylor Brooks', department: 'Engineering', managerEmail: 'jordan.blake@example.com', roles: ['department-head:engineering'] },
  { email: 'jamie.ortiz@example.com', name: 'Jamie Ortiz', department: 'People', managerEmail: 'jordan.blake@example.com', roles: ['hr-business-partner', 'department-head:people'] },
  { email: 'kim.park@example.com', name: 'Kim Park', department: 'Procurement', managerEmail: 'dana.whitfield@example.com', roles: ['procurement'] },
  { email: 'chris.mendes@example.com', name: 'Chris Mendes', department: 'Legal', managerEmail: 'lena.fischer@example.com', roles: ['compliance'] },
  { email: 'avery.kim@example.com', name: 'Avery Kim', department: 'Engineering', managerEmail: 'taylor.brooks@example.com', roles: ['line-manager'] },
  // The departments that check a launch's readiness (launch-readiness): each role is a candidate group of tasks.
  { email: 'mia.santos@example.com', name: 'Mia Santos', department: 'Marketing', managerEmail: 'riley.chen@example.com', roles: ['marketing'] },
  { email: 'leo.martin@example.com', name: 'Leo Martin', department: 'Marketing', managerEmail: 'riley.chen@example.com', roles: ['marketing'] },
  { email: 'hana.suzuki@example.com', name: 'Hana Suzuki', department: 'Operations', managerEmail: 'morgan.lee@example.com', roles: ['production-planning'] },
  { email: 'noah.becker@example.com', name: 'Noah Becker', department: 'Procurement', managerEmail: 'kim.park@example.com', roles: ['supply-planning'] },
  { email: 'ella.novak@example.com', name: 'Ella Novak', department: 'Customer Service', managerEmail: 'riley.chen@example.com', roles: ['customer-service'] },
  { email: 'ravi.patel@example.com', name: 'Ravi Patel', department: 'Finance', managerEmail: 'priya.shah@example.com', roles: ['finance-controller'] },
  // Who gets a new hire's first day ready (hiring's preparation tasks): IT's laptop and accounts, facilities' desk.
  { email: 'kai.lindqvist@example.com', name: 'Kai Lindqvist', department: 'IT', managerEmail: 'omar.haddad@example.com', roles: ['it'] },
  { email: 'una.byrne@example.com', name: 'Una Byrne', department: 'IT', managerEmail: 'omar.haddad@example.com', roles: ['it'] },
  { email: 'rosa.diaz@example.com', name: 'Rosa Diaz', department: 'Facilities', managerEmail: 'dana.whitfield@example.com', roles: ['facilities'] },
  // Incidents (incident): each area's on-call rota and head, and the key-account managers sales tells customers through.
  { email: 'grace.huang@example.com', name: 'Grace Huang', department: 'Supply', managerEmail: 'dana.whitfield@example.com', roles: ['department-head:supply'] },
  { email: 'zoe.adams@example.com', name: 'Zoe Adams', department: 'Supply', managerEmail: 'grace.huang@example.com', roles: ['on-call:supply:primary'] },
  { email: 'ivan.petrov@example.com', name: 'Ivan Petrov', department: 'Supply', managerEmail: 'grace.huang@example.com', roles: ['on-call:supply:secondary'], noSlack: true },
  { email: 'nina.kowalski@example.com', name: 'Nina Kowalski', department: 'Production', managerEmail: 'dana.whitfield@example.com', roles: ['department-head:production'] },
  { email: 'ben.carter@example.com', name: 'Ben Carter', department: 'Production', managerEmail: 'nina.kowalski@example.com', roles: ['on-call:production:primary'] },
  { email: 'tom.reyes@example.com', name: 'Tom Reyes', department: 'Production', managerEmail: 'nina.kowalski@example.com', roles: ['on-call:production:secondary'] },
  { email: 'sofia.rossi@example.com', name: 'Sofia Rossi', department: 'Sales', managerEmail: 'riley.chen@example.com', roles: ['key-accounts'] },
];

/** Inserts the demo people that are missing; never overwrites edits. */
export async function seedDemoOrg(db: Db): Promise<number> {
  const result = await db.person.createMany({
    data: demoOrg.map((p) => ({ id: p.email, email: p.email, name: p.name, department: p.department, managerEmail: p.managerEmail ?? null, roles: p.roles })),
    skipDuplicates: true,
  });
  return result.count;
}
