import { Router } from 'express';
import { z } from 'zod';
import type { SimulatorControls } from './faults.js';
import { sendNotFound, sequence, validationFailed, withReference } from './responses.js';

interface PlanRow {
  department: string;
  approved: number;
  filled: number;
  openRequisitions: number;
}

const seedPlan: PlanRow[] = [
  { department: 'Engineering', approved: 40, filled: 36, openRequisitions: 2 },
  { department: 'Finance', approved: 8, filled: 8, openRequisitions: 0 },
  { department: 'Operations', approved: 12, filled: 10, openRequisitions: 1 },
  { department: 'Sales', approved: 20, filled: 18, openRequisitions: 0 },
  { department: 'People', approved: 5, filled: 4, openRequisitions: 0 },
  { department: 'Legal', approved: 4, filled: 4, openRequisitions: 0 },
];

export interface Reservation {
  reservationId: string;
  department: string;
  reference: string;
  status: 'held' | 'released';
  createdAt: string;
  releasedAt?: string;
}

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

const reservationSchema = z.object({ reference: z.string().min(1).max(200) });

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
  // A copy per store: reservations change it, and each simulator instance starts from the seed.
  private readonly plan: PlanRow[] = seedPlan.map((row) => ({ ...row }));
  private readonly reservationList: Reservation[] = [];
  private readonly nextId = sequence('EMP', 6, 101);
  private readonly nextReservation = sequence('RES', 5);

  headcountPlan(department: string): (PlanRow & { available: number }) | undefined {
    const row = this.planRow(department);
    return row && { ...row, available: row.approved - row.filled - row.openRequisitions };
  }

  reservations(): Reservation[] {
    return [...this.reservationList];
  }

  reserve(department: string, reference: string): Reservation | undefined {
    const row = this.planRow(department);
    if (!row) return undefined;
    row.openRequisitions += 1;
    const reservation: Reservation = { reservationId: this.nextReservation(), department: row.department, reference, status: 'held', createdAt: new Date().toISOString() };
    this.reservationList.push(reservation);
    return reservation;
  }

  /** Gives the seat back once; releasing again changes nothing. */
  release(reservationId: string): Reservation | undefined {
    const reservation = this.reservationList.find((r) => r.reservationId === reservationId);
    if (!reservation || reservation.status === 'released') return reservation;
    const row = this.planRow(reservation.department);
    if (row) row.openRequisitions = Math.max(0, row.openRequisitions - 1);
    Object.assign(reservation, { status: 'released', releasedAt: new Date().toISOString() });
    return reservation;
  }

  private planRow(department: string): PlanRow | undefined {
    return this.plan.find((row) => row.department.toLowerCase() === department.toLowerCase());
  }

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
    const row = store.headcountPlan(String(req.params.department));
    if (!row) return sendNotFound(res, `headcount plan for ${req.params.department}`);
    res.json({ department: row.department, year: new Date().getUTCFullYear(), approved: row.approved, filled: row.filled, openRequisitions: row.openRequisitions, available: row.available });
  });
  router.post(
    '/headcount-plan/:department/reservations',
    controls.idempotent('hris', async (req) => {
      const parsed = reservationSchema.safeParse(req.body);
      if (!parsed.success) return validationFailed(parsed.error, 'reservation');
      const reservation = store.reserve(String(req.params.department), parsed.data.reference);
      if (!reservation) return { status: 404, body: { error: { code: 'not_found', message: `No headcount plan for ${req.params.department}` } } };
      return { status: 201, body: reservation };
    }),
  );
  router.post('/reservations/:id/release', (req, res) => {
    const reservation = store.release(String(req.params.id));
    if (!reservation) return sendNotFound(res, `reservation ${req.params.id}`);
    res.json(reservation);
  });
  router.get('/salary-bands/:level', (req, res) => {
    const band = bands[String(req.params.level).toUpperCase()];
    if (!band) return sendNotFound(res, `salary band ${req.params.level}`);
    res.json({ level: String(req.params.level).toUpperCase(), currency: 'EUR', min: band[0], max: band[1] });
  });
  router.post(
    '/employees',
    controls.creates('hris', employeeSchema, 'employee', (fields) => store.create(fields)),
  );
  router.get('/employees', (req, res) => {
    res.json({ items: withReference(req, store.employees()) });
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
