import type { HttpSystem } from './http-system.js';

export interface HeadcountPlan {
  department: string;
  year: number;
  approved: number;
  filled: number;
  openRequisitions: number;
  available: number;
}

export interface SalaryBand {
  level: string;
  currency: string;
  min: number;
  max: number;
}

export interface NewEmployee {
  reference: string;
  name: string;
  personalEmail: string;
  jobTitle: string;
  department: string;
  level: string;
  location: string;
  startDate: string;
  managerEmail: string;
  salary: number;
  currency: string;
}

export interface Employee extends NewEmployee {
  employeeId: string;
  status: 'pending_start' | 'active' | 'withdrawn';
  workEmail: string;
}

/** The HR information system: headcount plan, salary bands, employee records. */
export interface Hris {
  headcountPlan(department: string): Promise<HeadcountPlan>;
  salaryBand(level: string): Promise<SalaryBand>;
  createEmployee(employee: NewEmployee, idempotencyKey: string): Promise<Employee>;
  withdrawEmployee(employeeId: string, reason: string): Promise<Employee>;
}

export class HttpHris implements Hris {
  constructor(private readonly http: HttpSystem) {}
  headcountPlan = (department: string) => this.http.get<HeadcountPlan>(`/headcount-plan/${encodeURIComponent(department)}`);
  salaryBand = (level: string) => this.http.get<SalaryBand>(`/salary-bands/${encodeURIComponent(level)}`);
  createEmployee = (employee: NewEmployee, idempotencyKey: string) => this.http.create<Employee>('/employees', employee, idempotencyKey);
  withdrawEmployee = (employeeId: string, reason: string) => this.http.post<Employee>(`/employees/${encodeURIComponent(employeeId)}/withdraw`, { reason });
}
