import { Router } from 'express';
import { z } from 'zod';
import type { SimulatorControls } from './faults.js';
import { sendNotFound, sequence, validationFailed } from './responses.js';

const plan: Record<string, { approved: number; filled: number; openRequisitions: number }> = {
  engineering: { approved: 40, filled: 36, openRequisitions: 2 },
  finance: { approved: 8, filled: 8, openRequisitions: 0 },
  operations: { approved: 12, filled: 10, openRequisitions: 1 },
  sales: { approved: 20, filled: 18, openRequisitions: 0 },
  people: { approved: 5, filled: 4, openRequisitions: 0 },
  legal: { approved: 4, filled: 4, openRequisitions: 0 },
};

const bands: Record<string, [number, number]> = {
  L1: [35_000, 45_000], L2: [45_000, 60_000], L3: [60_000, 80_000], L4: [80_000, 105_000],
  L5: [105_000, 135_000], L6: [135_000, 170_000], L7: [170_000, 220_000],
};

const employeeSchema = z.object({
  reference: z.string().min(1).max(200),
  name: z.string().min(1).max(200),
  personalEmail: z.email(),
  jobTitle: z.string().min(1).max(200),
  department: z.string().min(1).max(100),
  level: z.string().regex(/^L[1-7]$/),
  location: z.string().min(1).max(200),
  startDate: z.iso.date(),
  managerEmail: z.email(),
  salary: z.number().positive(),
  currency: z.string().regex(/^[A-Z]{3}$/),
});

export interface Employee extends z.infer<typeof employeeSchema> {
  employeeId: string;
  status: 'pending_start' | 'active' | 'withdrawn';
  workEmail: string;
  createdAt: string;
  withdrawnReason?: string;
}

function workEmailFor(name: string): string {
  const ascii = name.normalize('NFKD').replace(/[^\x20-\x7e]/g, '').toLowerCase();
  return `${ascii.trim().split(/\s+/).join('.').replace(/[^a-z.]/g, '')}@example.com`;
}

export class HrisStore {
  private readonly people: Employee[] = [];
  private readonly nextId = sequence('EMP', 6, 101);

  employees(): Employee[] {
    return [...this.people];
  }

  create(fields: z.infer<typeof employeeSchema>): Employee {
    const employee: Employee = { employeeId: this.nextId(), status: 'pending_start', workEmail: workEmailFor(fields.name), createdAt: new Date().toISOString(), ...fields };
    this.people.push(employee);
    return employee;
  }

  find(employeeId: string): Employee | undefined {
    return this.people.find((e) => e.employeeId === employeeId);
  }
}

/** The HRIS: headcount plan, salary bands and employee records. */
export function hrisRouter(store: HrisStore, controls: SimulatorControls): Router {
  const router = Router();
  router.get('/headcount-plan/:department', (req, res) => {
    const department = String(req.params.department).toLowerCase();
    const row = plan[department];
    if (!row) return sendNotFound(res, `headcount plan for ${req.params.department}`);
    res.json({ department, year: new Date().getUTCFullYear(), ...row, available: row.approved - row.filled - row.openRequisitions });
  });
  router.get('/salary-bands/:level', (req, res) => {
    const band = bands[String(req.params.level).toUpperCase()];
    if (!band) return sendNotFound(res, `salary band ${req.params.level}`);
    res.json({ level: String(req.params.level).toUpperCase(), currency: 'EUR', min: band[0], max: band[1] });
  });
  router.post(
    '/employees',
    controls.idempotent('hris', async (req) => {
      const parsed = employeeSchema.safeParse(req.body);
      if (!parsed.success) return validationFailed(parsed.error, 'employee');
      return { status: 201, body: store.create(parsed.data) };
    }),
  );
  router.get('/employees', (req, res) => {
    const reference = typeof req.query.reference === 'string' ? req.query.reference : undefined;
    res.json({ items: store.employees().filter((e) => !reference || e.reference === reference) });
  });
  router.get('/employees/:id', (req, res) => {
    const employee = store.find(String(req.params.id));
    if (!employee) return sendNotFound(res, `employee ${req.params.id}`);
    res.json(employee);
  });
  router.post('/employees/:id/withdraw', (req, res) => {
    const employee = store.find(String(req.params.id));
    if (!employee) return sendNotFound(res, `employee ${req.params.id}`);
    if (employee.status !== 'withdrawn') Object.assign(employee, { status: 'withdrawn', withdrawnReason: String(req.body?.reason ?? 'withdrawn') });
    res.json(employee);
  });
  return router;
}
